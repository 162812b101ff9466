import re

from hypothesis import given
from hypothesis import strategies as st

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


# -- properties of the normaliser ----------------------------------------------------------------

_HEXISH = re.compile(r"(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}")  # a whole hash-like word is rule 4's, not a name

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(lambda s: not _HEXISH.fullmatch(s))
digits = st.integers(min_value=0, max_value=10**9)


def test_identifiers_with_several_digits_keep_their_digits() -> None:
    assert normalise("KeyError: 'field_12'") == "KeyError: 'field_12'"
    assert signature("KeyError: 'field_12'", "a.py", 1) != signature("KeyError: 'field_13'", "a.py", 1)
    assert normalise("user4123 missing, retry 12 of 345") == "user4123 missing, retry <n> of <n>"


@given(identifiers)
def test_an_identifier_is_kept_verbatim(name: str) -> None:
    assert normalise(f"KeyError: '{name}'") == f"KeyError: '{name}'"
    assert normalise(f"{name} is not defined") == f"{name} is not defined"


@given(identifiers, identifiers)
def test_different_identifiers_give_different_signatures(a: str, b: str) -> None:
    same = signature(f"KeyError: '{a}'", "a.py", 1) == signature(f"KeyError: '{b}'", "a.py", 1)
    assert same == (a == b)


@given(st.from_regex(r"[A-Za-z_][A-Za-z_]{0,8}", fullmatch=True), digits, digits)
def test_identifier_suffixes_of_any_length_stay_distinct(stem: str, x: int, y: int) -> None:
    a, b = f"{stem}{x}", f"{stem}{y}"
    if _HEXISH.fullmatch(a) or _HEXISH.fullmatch(b):
        return
    assert (normalise(f"KeyError: '{a}'") == normalise(f"KeyError: '{b}'")) == (x == y)


@given(identifiers, digits, digits)
def test_standalone_numbers_are_normalised_whatever_their_length(name: str, x: int, y: int) -> None:
    assert normalise(f"{name} failed after {x} tries") == normalise(f"{name} failed after {y} tries")
    assert normalise(f"{name} failed after {x} tries") == f"{name} failed after <n> tries"


@given(st.text(max_size=80))
def test_normalising_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
