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
