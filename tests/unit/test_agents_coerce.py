"""Operands of two types that do not mix, converted (agents.coerce): Python's own messages, real code."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from decimal import Decimal

from agents.coerce import Mixed, coercions, function_coercions, mixed_types, needs_import


def test_the_two_types_are_read_off_pythons_own_messages() -> None:
    assert mixed_types("unsupported operand type(s) for *: 'decimal.Decimal' and 'float'") == Mixed(
        "*", "decimal.Decimal", "float")
    assert mixed_types("unsupported operand type(s) for +=: 'int' and 'str'") == Mixed("+", "int", "str")
    assert mixed_types('can only concatenate str (not "int") to str') == Mixed("+", "str", "int")
    assert mixed_types("'<' not supported between instances of 'str' and 'int'") == Mixed("<", "str", "int")
    assert mixed_types("can't compare offset-naive and offset-aware datetimes") == Mixed(
        "<", "offset-naive", "offset-aware")
    assert mixed_types("can't subtract offset-naive and offset-aware datetimes").op == "-"
    assert mixed_types("'NoneType' object is not subscriptable") is None


def test_the_right_operand_becomes_the_left_ones_type_first_and_the_result_computes() -> None:
    mixed = mixed_types("unsupported operand type(s) for *: 'decimal.Decimal' and 'float'")
    assert mixed is not None
    variants = list(coercions("    return net * rate_for(c)", mixed))
    assert variants[0] == ("    return net * Decimal(str(rate_for(c)))", "coerce rate_for(c) to decimal.Decimal")
    ns = {"Decimal": Decimal, "net": Decimal("10.00"), "rate_for": lambda c: 0.19, "c": "std"}
    assert eval(variants[0][0].strip().removeprefix("return "), ns) == Decimal("1.9000")
    returned = list(coercions("    return RATES[country]", mixed))  # the function that hands over the stranger
    assert returned[0][0] == "    return Decimal(str(RATES[country]))"


def test_every_comparison_of_a_function_reads_naive_datetimes_as_utc() -> None:
    text = ("from datetime import datetime\n\n\ndef inside(ts, start, end):\n    if ts < start:\n        return False\n"
            "    if ts >= end:\n        return False\n    return True\n")
    mixed = mixed_types("can't compare offset-naive and offset-aware datetimes")
    assert mixed is not None
    new_text, what = next(function_coercions(text, 5, mixed))
    assert what == "coerce every operand in inside() to offset-aware (2 lines)"
    new_text = needs_import(text, new_text)
    ns: dict = {}
    exec(new_text, ns)
    aware = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert ns["inside"](aware, datetime(2026, 1, 1, 11), datetime(2026, 1, 1, 13)) is True
    assert ns["inside"](aware, datetime(2026, 1, 1, 13), datetime(2026, 1, 1, 14)) is False


def test_a_conversion_adds_the_import_it_needs_once() -> None:
    text = '"""Doc."""\nimport json\n\nx = 1\n'
    new = needs_import(text, text.replace("x = 1", "x = Decimal(str(1.5))"))
    assert new.splitlines()[:3] == ['"""Doc."""', "import json", "from decimal import Decimal"]
    assert needs_import(new, new) == new


def test_a_heap_compares_the_key_it_is_handed_which_becomes_the_heaps_kind() -> None:
    import heapq

    mixed = mixed_types("can't compare offset-naive and offset-aware datetimes")
    assert mixed is not None
    line = "heapq.heappush(heap, (when, seq, job))"
    variants = dict((what, new) for new, what in coercions(line, mixed))
    naive = variants["coerce when to offset-naive"]
    heap = [(datetime(2026, 1, 1, 9), 0, "a")]
    ns = {"heapq": heapq, "heap": heap, "when": datetime(2026, 1, 1, 8, tzinfo=UTC), "seq": 1, "job": "b",
          "timezone": timezone}
    exec(naive, ns)
    assert heapq.heappop(heap) == (datetime(2026, 1, 1, 8), 1, "b")


def test_a_set_operation_with_a_mapping_takes_its_keys_and_template_names_are_code_only() -> None:
    from agents.templates import _values

    mixed = mixed_types("unsupported operand type(s) for &: 'set' and 'dict'")
    assert mixed == Mixed("&", "set", "dict")
    made = [line for line, _ in coercions("    return sorted(set(wanted) & enabled(account))", mixed)]
    assert made[0] == "    return sorted(set(wanted) & set(enabled(account)))", made
    # the words of a docstring or a message are no values to guard; an f-string's fields are
    assert [v[2] for v in _values('    """{flag: the plan that grants it}."""')] == []
    assert [v[2] for v in _values("    raise Missing(f'no zone for {country}') from err  # why")] == ["country", "err"]


def test_bytes_meeting_text_are_decoded_and_text_meeting_bytes_encoded_never_repr_d() -> None:
    """Review 21 (blogslug): `str(slugify(title))` passed the repro with "b'creme-brulee'" in the URL."""
    mixed = mixed_types('can only concatenate str (not "bytes") to str')
    assert mixed is not None
    variants = dict((what, line) for line, what in coercions('    return "/blog/" + slug_of(t) + "/"', mixed))
    assert variants["coerce slug_of(t) to str"] == '    return "/blog/" + slug_of(t).decode() + "/"'
    ns = {"slug_of": lambda t: t.encode()}
    assert eval(variants["coerce slug_of(t) to str"].strip().removeprefix("return ").replace("t)", "'a-b')"),
                ns) == "/blog/a-b/"
    mixed = mixed_types("unsupported operand type(s) for +: 'bytes' and 'str'")
    assert mixed is not None
    variants = dict((what, line) for line, what in coercions("    frame = HEADER + name_of(u)", mixed))
    assert variants["coerce name_of(u) to bytes"] == "    frame = HEADER + name_of(u).encode()"
