from swarm.runtime.batch import FetchSizer


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
