"""The report's None moved to the other text fields of its record (`agents.siblings`), and the receiver of an
attribute read off a None (`agents.templates`): what keeps a fix from handling only the field the report named."""

from __future__ import annotations

import json
import sys

from agents.repro import Repro
from agents.siblings import MAX_VARIANTS, sibling_variants
from agents.templates import _receivers


def _built(args: list, kwargs: dict) -> Repro:
    code = ("import importlib, json; m = importlib.import_module('post.fields'); "
            f"m.label(*json.loads({json.dumps(args)!r}), **json.loads({json.dumps(kwargs)!r}))")
    return Repro("built", [sys.executable, "-c", code], "post/fields.py:label")


def _moved(args: list[str]) -> list:
    code = args[-1]
    return json.loads(code.split("json.loads(", 1)[1].split(")", 1)[0].strip("'\""))


def test_each_text_field_beside_a_none_gets_the_none_in_its_turn() -> None:
    repro = _built([{"name": "Ann", "street": None, "zip": 150, "city": "Oslo"}], {"style": "short"})
    variants = sibling_variants(repro)
    assert [what for _, what in variants] == ["name=None in the arguments", "city=None in the arguments"]
    assert _moved(variants[0][0]) == [{"name": None, "street": None, "zip": 150, "city": "Oslo"}]
    assert repro.args[-1].count("null") == 1  # the repro itself is left as it was
    rows = [{"a": str(i), "b": None, "c": "x"} for i in range(5)]  # records in a list, the count bounded
    assert len(sibling_variants(_built([rows], {}))) == MAX_VARIANTS
    assert sibling_variants(_built([{"name": "Ann", "city": "Oslo"}], {})) == []  # no None: nothing to move
    assert sibling_variants(Repro("test", ["pytest", "tests/test_x.py"], "tests/test_x.py")) == []


def test_the_receiver_an_attribute_was_read_from_is_found_however_it_is_spelled() -> None:
    assert _receivers('    return " ".join(record.get(key, "").split())', "split") == [(20, 39, 'record.get(key, "")')]
    assert _receivers('    if data["x"].strip():', "strip") == [(7, 16, 'data["x"]')]
    line = '    name = "é" + rows[0].lower()  # a comment'
    (start, end, text), = _receivers(line, "lower")
    assert line[start:end] == text == "rows[0]"  # offsets in characters, not the parser's bytes
    assert _receivers("    return name.split()", "split") == []  # a plain name: the value variants' own
