from swarm.signature import normalise, signature


def test_occurrences_differing_by_address_or_id_share_a_signature() -> None:
    a = signature("Order 3f2a9c1e-1111-2222-3333-444455556666 failed at 0x7f3a2c10", "shop/orders.py", 88)
    b = signature("Order 9a9a9a9a-0000-4444-8888-cccccccccccc failed at 0x55d0e1ff", "shop/orders.py", 88)
    assert a == b


def test_numbers_and_timestamps_are_normalised_words_are_not() -> None:
    assert normalise("retry 3 of 5 at 2026-01-02T10:00:00Z") == "retry <n> of <n> at <ts>"
    assert signature("KeyError: 'user_id'", "a.py", 1) != signature("KeyError: 'email'", "a.py", 1)


def test_file_and_line_are_part_of_the_signature() -> None:
    base = signature("boom", "a.py", 10)
    assert base != signature("boom", "a.py", 11)
    assert base != signature("boom", "b.py", 10)
    assert len(base) == 64
