"""The operations read off code as wrappers, the tables read as rebased, and the dead statements a patch leaves."""

from __future__ import annotations

import ast

from agents.rebased import _tables, rebased_entries
from agents.sourcetext import dead_statements, unused_locals
from agents.transfer import wrappers_of


def _wrappers(code: str, dropped: bool = True) -> list[str]:
    tree = ast.parse(code)
    return [w.text for w in wrappers_of(tree, set(range(1, len(code.splitlines()) + 1)), dropped=dropped)]


def test_a_wrapper_is_the_operation_with_a_hole_and_what_it_carries_is_not_one_of_its_own() -> None:
    found = _wrappers("x = staff[week % len(staff)]\n")
    assert "_ % len(staff)" in found
    assert "len(_)" not in found  # `len(staff)` is carried by the modulo, not an operation on `staff`
    assert "(str(a) for a in _)" in _wrappers("k = '|'.join(str(a) for a in args)\n")
    assert "_.lower()" in _wrappers("r = user['role'].strip().lower()\n")
    assert "_.strip()" in _wrappers("r = user['role'].strip().lower()\n")
    # a join is a call of its argument, not an operation on the separator
    assert not any("'|'" in w and w.startswith("_") for w in _wrappers("k = '|'.join(parts)\n"))


def test_the_element_of_a_map_wraps_on_its_own_and_a_wrapper_kept_elsewhere_still_counts_as_dropped() -> None:
    """Review 25 (pixeltone): `bytes(_clamp(p + delta) for p in pixels)` became a lookup table without the clamp,
    while a new `contrast` used `_clamp` on its own values: the clamp around `p + delta` was dropped all the same."""
    from agents.transfer import _applied, _still_applied

    old = "def brighter(pixels, delta):\n    return bytes(_clamp(p + delta) for p in pixels)\n"
    found = {w.text: w for w in wrappers_of(ast.parse(old), {2}, dropped=True)}
    assert "_clamp(_)" in found  # inside the generator: the map's element is code of its own
    head = ("def brighter(pixels, delta):\n    table = {v: v + delta for v in set(pixels)}\n"
            "    return bytes(table[p] for p in pixels)\n\n\n"
            "def contrast(pixels, factor):\n    return bytes(_clamp(round(v * factor)) for v in pixels)\n")
    assert not _still_applied(found["_clamp(_)"], _applied(ast.parse(head)))
    kept = head.replace("v + delta for", "_clamp(v + delta) for")
    assert _still_applied(found["_clamp(_)"], _applied(ast.parse(kept)))  # on the same names: not dropped


def test_what_the_suspect_wrote_gives_conversions_only() -> None:
    written = _wrappers("left = max(0, LIMIT - (now - start) * 1000)\n", dropped=False)
    assert "_ * 1000" in written
    assert "LIMIT - _" not in written and "max(_)" not in written  # arithmetic on names is the feature, not a unit


def test_a_table_rebased_by_one_factor_names_the_entries_that_kept_their_number() -> None:
    old = _tables(ast.parse('TO_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}\n'))["TO_M"]
    new = _tables(ast.parse('TO_CM = {"m": 100.0, "cm": 1.0, "mm": 0.1, "in": 0.0254, "ft": 30.48}\n'))["TO_CM"]
    assert rebased_entries(old, new) == (100.0, ["in"])
    # a table whose entries changed each their own way was not rebased
    edited = _tables(ast.parse('T = {"a": 1, "b": 7, "c": 3}\n'))["T"]
    assert rebased_entries(_tables(ast.parse('T = {"a": 2, "b": 5, "c": 3}\n'))["T"], edited) is None
    # nor one where most entries kept their number (one price raised)
    kept = _tables(ast.parse('P = {"a": 1, "b": 2, "c": 3, "d": 8}\n'))["P"]
    assert rebased_entries(_tables(ast.parse('P = {"a": 1, "b": 2, "c": 3, "d": 4}\n'))["P"], kept) is None


def test_dead_statements_count_what_follows_a_return_in_its_block() -> None:
    live = "def f(x):\n    y = x + 1\n    return y\n"
    assert dead_statements(live) == 0
    assert dead_statements("def f(x):\n    return x\n    y = x + 1\n    return y\n") == 2
    assert dead_statements("for i in r:\n    if i:\n        continue\n        print(i)\n") == 1
    assert dead_statements("def f(:\n") == 0


def test_unused_locals_count_values_a_function_computes_and_never_reads() -> None:
    summary = ("def summary(total, people, weights=None):\n"
               "    shares = split_weighted(total, weights) if weights else split_even(total, people)\n"
               "    return [f'{p} owes {c}' for p, c in shares.items()]\n")
    assert unused_locals(summary) == 0
    assert unused_locals(summary.replace("in shares.items()", "in weights.items()")) == 1  # shares made for nothing
    assert unused_locals("def f(xs):\n    n = 0\n    for _x in xs:\n        n += 1\n    return 1\n") == 0
    assert unused_locals("def f():\n    global N\n    N = 1\n    _seen = 2\n") == 0
    assert unused_locals("def f(x):\n    y = x\n    def g():\n        return y\n    return g\n") == 0
    assert unused_locals("def f(x):\n    (") == 0


def test_a_rewrite_is_a_rule_with_the_locals_as_holes_only_when_it_names_the_projects_own_code() -> None:
    from agents.propagate import edit_rules

    old = "from shop.promos import discount\n\n\ndef total(subtotal, code):\n" \
          "    return round(subtotal * (1 - discount(code)))\n"
    new = old.replace("subtotal * (1 - discount(code))", "subtotal * (100 - discount(code)) / 100")
    [rule] = edit_rules("shop/cart.py", old, new)
    assert rule.holes == {"subtotal", "code"} and "discount" in rule.text
    # `.lower()` -> `.casefold()` on a local names nothing of the project's: no rule to spread over the code
    plain = "def key(name):\n    return name.strip().lower()\n"
    assert edit_rules("k.py", plain, plain.replace(".lower()", ".casefold()")) == []
