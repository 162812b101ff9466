import asyncio

import pytest

from swarm.runtime.batch import CatchUp, FetchSizer


def test_a_storm_of_duplicates_grows_the_fetch_to_the_backlog() -> None:
    sizer = FetchSizer(smallest=16, largest=256)
    assert sizer.size(free_slots=8) == 8  # nothing seen yet: a slot per report
    for _ in range(6):
        sizer.saw_backlog(5000)
        sizer.saw_opened(fetched=sizer.size(8), opened=0)
    assert sizer.size(free_slots=8) == 256
    sizer.saw_backlog(3)  # the storm is over: back to the smallest fetch
    assert sizer.size(free_slots=8) == 16


def test_distinct_reports_are_fetched_a_slot_each() -> None:
    sizer = FetchSizer(smallest=16, largest=256)
    for _ in range(6):
        sizer.saw_backlog(5000)
        sizer.saw_opened(fetched=10, opened=10)
    assert sizer.size(free_slots=10) == 10
    assert sizer.size(free_slots=0) == 1


def test_the_first_batch_seen_replaces_the_guess_of_one_opening_per_report() -> None:
    sizer = FetchSizer(smallest=16, largest=256)
    sizer.saw_backlog(5000)
    first = sizer.size(free_slots=40)
    assert first == 40  # nothing seen: a slot per report
    sizer.saw_opened(fetched=first, opened=10)  # a storm's first batch: 10 errors in 40 reports
    assert sizer.size(free_slots=30) == 120  # 30 slots at 1 opening in 4 (not the guess averaged in)
    sizer.saw_opened(fetched=120, opened=120)  # then a burst of distinct reports: back towards a slot each
    assert sizer.size(free_slots=30) < 60


def test_a_parsed_batch_s_signatures_bound_the_guess_before_it_is_counted() -> None:
    """A storm's first fetch holds a slot per report; once parsed, its 10 signatures in 40 reports say at most one
    in four opens, so the second fetch may go out (and be sized) before the first batch's counts are written."""
    sizer = FetchSizer(smallest=16, largest=256)
    sizer.saw_backlog(5000)
    assert sizer.size(free_slots=40) == 40
    sizer.saw_signatures(fetched=40, signatures=10)
    assert sizer.size(free_slots=30) == 120
    sizer.saw_opened(fetched=40, opened=10)  # counted: the same share, now seen
    sizer.saw_signatures(fetched=120, signatures=120)  # later batches learn from their openings, not this bound
    assert sizer.size(free_slots=30) == 120


async def test_a_new_investigation_waits_while_the_intake_is_behind_a_backlog_it_can_fetch() -> None:
    catch_up = CatchUp(threshold=64)
    assert await catch_up.wait(hold_s=5) == (0.0, "")  # nothing seen: not behind, no wait
    catch_up.saw("errors", 4800)  # a storm: far more pending than one fetch
    waiting = asyncio.create_task(catch_up.wait(hold_s=30))
    for pending in (4544, 4288, 300):  # still behind: held
        catch_up.saw("errors", pending)
        await asyncio.sleep(0)
        assert not waiting.done()
    catch_up.saw("staging", 10)  # another stream caught up: the storm's stream decides
    await asyncio.sleep(0)
    assert not waiting.done()
    catch_up.saw("errors", 40)  # the last full fetch: let go
    held_s, why = await asyncio.wait_for(waiting, 5)
    assert why == "caught_up" and held_s >= 0 and catch_up.pending() == 40
    assert await catch_up.wait(hold_s=5) == (0.0, "")


@pytest.mark.parametrize("release", ["stalled", "idle"])
async def test_held_investigations_go_when_the_fetch_cannot_go_on(release: str) -> None:
    catch_up = CatchUp(threshold=64)
    catch_up.saw("errors", 5000)
    waiting = asyncio.create_task(catch_up.wait(hold_s=30))
    await asyncio.sleep(0)
    catch_up.stalled() if release == "stalled" else catch_up.idle("errors")
    assert (await asyncio.wait_for(waiting, 5))[1] == {"stalled": "no_slots", "idle": "caught_up"}[release]


async def test_a_hold_is_bounded_and_zero_means_never() -> None:
    catch_up = CatchUp(threshold=64)
    catch_up.saw("errors", 5000)
    assert await catch_up.wait(hold_s=0) == (0.0, "")
    held_s, why = await catch_up.wait(hold_s=0.05)
    assert why == "timeout" and held_s >= 0.05
