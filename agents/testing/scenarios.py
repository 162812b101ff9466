"""More regression shapes, written as commit histories: what a whole-hunk revert or naive blame gets wrong.

    case = make_scenario(tmp / "repo", "rename", seed=2, split="holdout")

Shapes (SCENARIO_SHAPES):
- newest:        the regression is the newest commit (nothing after it to bisect against)
- feature_later: the regressing commit also adds a feature; a later commit adds tests that use it
- reformatted:   a later commit reformats the crash line (blame names the reformat, not the bug)
- rename:        a rename leaves one stale caller (ImportError / AttributeError / unexpected keyword)
- return_type:   a refactor changes a return type (list -> generator, dict -> tuple, ...) and a caller breaks
- handler_removed: the regressing commit drops an exception handler and adds a feature later tests use
- statement:     the regressing commit adds or drops one statement in a function off the stack, among others

Each shape has four variants: 0 and 1 form the development split (used while tuning the engine), 2 and 3
the held-out split (never used while tuning; `swarm bench fixes` reports both). Commit texts use `{pkg}`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from agents.testing.regressions import RegressionCase, _Repo, _report, _traceback

__all__ = ["SCENARIO_SHAPES", "make_scenario", "SPLITS"]

SCENARIO_SHAPES = ("newest", "feature_later", "reformatted", "rename", "return_type", "handler_removed",
                   "statement")
SPLITS = {"dev": (0, 1), "holdout": (2, 3)}
PKGS = {"dev": ("shop", "billing", "ledger", "orders"), "holdout": ("clinic", "transit", "library", "garden")}
TEST = "import unittest\n\nfrom {pkg}.{mod} import {names}\n\n\nclass Test{Mod}(unittest.TestCase):\n"


@dataclass
class _Variant:
    commits: list[tuple[str, dict[str, str]]]
    bad: int  # index of the regressing commit
    crash: str  # code run from the repo root that raises
    keep: list[tuple[str, str]]


def _t(pkg: str, mod: str, names: str, body: str) -> str:
    return TEST.format(pkg=pkg, mod=mod, names=names, Mod=mod.title().replace("_", "")) + body


def _newest(v: int, p: str) -> _Variant:
    if v == 0:
        good = 'TIERS = {"basic": 0, "plus": 5}\n\n\ndef discount(tier):\n    return TIERS.get(tier, 0)\n'
        bad = 'TIERS = {"basic": 0, "plus": 5}\n\n\ndef discount(tier):\n    return TIERS[tier]\n'
        test = _t(p, "pricing", "discount", "    def test_unknown(self):\n        self.assertEqual(discount('x'), 0)\n")
        crash = f"from {p}.pricing import discount; discount('gold')"
    elif v == 1:
        good = "def mean(xs):\n    return sum(xs) / max(len(xs), 1)\n"
        bad = "def mean(xs):\n    return sum(xs) / len(xs)\n"
        test = _t(p, "pricing", "mean", "    def test_empty(self):\n        self.assertEqual(mean([]), 0)\n")
        crash = f"from {p}.pricing import mean; mean([])"
    elif v == 2:
        good = "def nth(items, i):\n    if i < len(items):\n        return items[i]\n    return None\n"
        bad = "def nth(items, i):\n    if i <= len(items):\n        return items[i]\n    return None\n"
        test = _t(p, "pricing", "nth", "    def test_past_end(self):\n        self.assertIsNone(nth([1], 1))\n")
        crash = f"from {p}.pricing import nth; nth([1, 2], 2)"
    else:
        good = "def cheapest(prices):\n    return sorted(prices)[0] if prices else None\n"
        bad = "def cheapest(prices):\n    return sorted(prices)[0]\n"
        test = _t(p, "pricing", "cheapest", "    def test_none(self):\n        self.assertIsNone(cheapest([]))\n")
        crash = f"from {p}.pricing import cheapest; cheapest([])"
    extra = "def label(x):\n    return f'<{x}>'\n"
    files = {f"{p}/__init__.py": "", "tests/__init__.py": "", f"{p}/pricing.py": good + "\n\n" + extra,
             "tests/test_pricing.py": test}
    c1 = dict(files)
    c2 = {**files, f"{p}/pricing.py": bad + "\n\n" + extra + "\n\ndef shout(x):\n    return str(x).upper()\n",
          "tests/test_shout.py": _t(p, "pricing", "shout", "    def test_shout(self):\n"
                                                           "        self.assertEqual(shout('a'), 'A')\n")}
    return _Variant([("pricing module", c1), ("pricing: add shout, simplify", c2)], 1, crash,
                    [(f"{p}/pricing.py", "def shout(")])


def _feature_later(v: int, p: str) -> _Variant:
    bodies = [
        ('def owner(rec):\n    return (rec or {}).get("owner", "nobody")\n',
         'def owner(rec):\n    return rec.get("owner", "nobody")\n', "owner(None)", '"nobody"'),
        ("def count(value):\n    return int(value or 0)\n", "def count(value):\n    return int(value)\n",
         "count(None)", "0"),
        ("from datetime import datetime, timezone\n\n\ndef expired(at):\n    return at < datetime.now(timezone.utc)\n",
         "from datetime import datetime, timezone\n\n\ndef expired(at):\n    return at < datetime.now()\n",
         "expired(__import__('datetime').datetime(2000, 1, 1, tzinfo=__import__('datetime').timezone.utc))",
         "True"),
        ('def joined(values):\n    return ", ".join(str(v) for v in values)\n',
         'def joined(values):\n    return ", ".join(values)\n', "joined([1, 2])", '"1, 2"'),
    ]
    good, bad, call, expect = bodies[v]
    name = call.split("(")[0]
    feature = "\n\ndef summary(rows):\n    return {'rows': len(rows), 'empty': not rows}\n"
    base = {f"{p}/__init__.py": "", "tests/__init__.py": "", f"{p}/records.py": good,
            "tests/test_records.py": _t(p, "records", name, f"    def test_{name}(self):\n"
                                        f"        self.assertEqual({call}, {expect})\n")}
    c2 = {**base, f"{p}/records.py": bad + feature}
    c3 = {**c2, "tests/test_summary.py": _t(p, "records", "summary", "    def test_summary(self):\n"
                                            "        self.assertEqual(summary([1])['rows'], 1)\n"),
          f"{p}/report.py": f"from {p}.records import summary\n\n\ndef headline(rows):\n"
                            "    return f\"{summary(rows)['rows']} rows\"\n"}
    return _Variant([("records", base), (f"records: add summary, tidy {name}", c2), ("report headline", c3)], 1,
                    f"from {p}.records import {name}; {call}", [(f"{p}/records.py", "def summary(")])


def _reformatted(v: int, p: str) -> _Variant:
    table = [
        ('PRICES = {"tea": 3}\n\n\ndef cost(name, qty):\n    return round(PRICES.get(name, 0) * qty, 2)\n',
         'PRICES = {"tea": 3}\n\n\ndef cost(name, qty):\n    return round(PRICES[name] * qty, 2)\n',
         'PRICES = {"tea": 3}\n\n\ndef cost(name, qty):\n    return round(\n        PRICES[name] * qty,\n'
         '        2,\n    )\n', "cost('milk', 2)", "0"),
        ("def rate(done, total):\n    return round(done / max(total, 1), 3)\n",
         "def rate(done, total):\n    return round(done / total, 3)\n",
         "def rate(done, total):\n    return round(\n        done / total,\n        3,\n    )\n", "rate(0, 0)", "0"),
        ("def tag_list(tags=None):\n    tags = tags or []\n    return [t.lower() for t in tags]\n",
         "def tag_list(tags=None):\n    return [t.lower() for t in tags]\n",
         "def tag_list(tags=None):\n    return [\n        t.lower()\n        for t in tags\n    ]\n",
         "tag_list()", "[]"),
        ("def money(amount, code):\n    return f\"{code.upper()} {amount:.2f}\"\n\n\ndef price_tag(amount):\n"
         "    return money(amount, 'eur')\n",
         "def money(amount, code):\n    return f\"{code.upper()} {amount:.2f}\"\n\n\ndef price_tag(amount):\n"
         "    return money('eur', amount)\n",
         "def money(amount, code):\n    return f\"{code.upper()} {amount:.2f}\"\n\n\ndef price_tag(amount):\n"
         "    return money(\n        'eur', amount\n    )\n", "price_tag(2)", "'EUR 2.00'"),
    ]
    good, bad, reformatted, call, expect = table[v]
    name = call.split("(")[0]
    base = {f"{p}/__init__.py": "", "tests/__init__.py": "", f"{p}/calc.py": good,
            "tests/test_calc.py": _t(p, "calc", name, f"    def test_{name}(self):\n"
                                     f"        self.assertEqual({call}, {expect})\n")}
    return _Variant([("calc", base), (f"calc: simplify {name}", {**base, f"{p}/calc.py": bad}),
                     ("style: wrap long lines", {**base, f"{p}/calc.py": reformatted})], 1,
                    f"from {p}.calc import {name}; {call}", [])


def _rename(v: int, p: str) -> _Variant:
    util_old = "def fmt_price(cents):\n    return f\"{cents / 100:.2f}\"\n"
    util_new = "def format_price(cents):\n    return f\"{cents / 100:.2f}\"\n"
    if v in (0, 1):
        stale = (f"from {p}.util import fmt_price\n\n\ndef receipt(c):\n    return 'total ' + fmt_price(c)\n" if v == 0
                 else f"from {p} import util\n\n\ndef receipt(c):\n    return 'total ' + util.fmt_price(c)\n")
        fresh = f"from {p} import util\n\n\ndef line(c):\n    return util.{{}}(c)\n"
        base = {f"{p}/util.py": util_old, f"{p}/receipt.py": stale, f"{p}/cart.py": fresh.format("fmt_price")}
        after = {f"{p}/util.py": util_new, f"{p}/cart.py": fresh.format("format_price")}
        tests = {"tests/test_receipt.py": _t(p, "receipt", "receipt", "    def test_receipt(self):\n"
                                             "        self.assertEqual(receipt(250), 'total 2.50')\n"),
                 "tests/test_cart.py": _t(p, "cart", "line", "    def test_line(self):\n"
                                          "        self.assertEqual(line(100), '1.00')\n")}
        crash = f"from {p}.receipt import receipt; receipt(250)"
    elif v == 2:
        cls_old = "class Basket:\n    def __init__(self, items):\n        self.items = items\n\n" \
                  "    def total(self):\n        return sum(self.items)\n"
        base = {f"{p}/basket.py": cls_old,
                f"{p}/checkout.py": f"from {p}.basket import Basket\n\n\ndef pay(items):\n"
                                    "    return Basket(items).total() * 100\n",
                f"{p}/audit.py": f"from {p}.basket import Basket\n\n\ndef check(items):\n"
                                 "    return Basket(items).total() >= 0\n"}
        after = {f"{p}/basket.py": cls_old.replace("def total", "def grand_total"),
                 f"{p}/audit.py": base[f"{p}/audit.py"].replace(".total()", ".grand_total()")}
        tests = {"tests/test_checkout.py": _t(p, "checkout", "pay", "    def test_pay(self):\n"
                                              "        self.assertEqual(pay([1, 2]), 300)\n"),
                 "tests/test_audit.py": _t(p, "audit", "check", "    def test_check(self):\n"
                                           "        self.assertTrue(check([1]))\n")}
        crash = f"from {p}.checkout import pay; pay([1])"
    else:
        charge = "def charge(amount, {}='EUR'):\n    return {{'amount': amount, 'currency': {}}}\n"
        base = {f"{p}/payments.py": charge.format("currency", "currency"),
                f"{p}/orders.py": f"from {p}.payments import charge\n\n\ndef place(total):\n"
                                  "    return charge(total, currency='USD')\n",
                f"{p}/refunds.py": f"from {p}.payments import charge\n\n\ndef refund(total):\n"
                                   "    return charge(-total, currency='USD')\n"}
        after = {f"{p}/payments.py": charge.format("ccy", "ccy"),
                 f"{p}/refunds.py": base[f"{p}/refunds.py"].replace("currency=", "ccy=")}
        tests = {"tests/test_orders.py": _t(p, "orders", "place", "    def test_place(self):\n"
                                            "        self.assertEqual(place(5)['currency'], 'USD')\n"),
                 "tests/test_refunds.py": _t(p, "refunds", "refund", "    def test_refund(self):\n"
                                             "        self.assertEqual(refund(5)['amount'], -5)\n")}
        crash = f"from {p}.orders import place; place(5)"
    common = {f"{p}/__init__.py": "", "tests/__init__.py": ""}
    c1 = {**common, **base, **tests}
    c2 = {**c1, "README.md": "# notes\n"}
    c3 = {**c2, **after}
    return _Variant([("initial", c1), ("docs", c2), ("rename for clarity", c3)], 2, crash, [])


def _return_type(v: int, p: str) -> _Variant:
    table = [
        ("def active(users):\n    return [u for u in users if u]\n",
         "def active(users):\n    return (u for u in users if u)\n",
         "def n_active(users):\n    return len(active(users))\n"),
        ("def totals(xs):\n    return {'sum': sum(xs), 'n': len(xs)}\n",
         "def totals(xs):\n    return sum(xs), len(xs)\n",
         "def n_active(users):\n    return totals(users)['n']\n"),
        ("def active(users):\n    return [u.strip() for u in users]\n",
         "def active(users):\n    return map(str.strip, users)\n",
         "def n_active(users):\n    return active(users)[0]\n"),
        ("def active(users):\n    return list({u: 1 for u in users})\n",
         "def active(users):\n    return {u: 1 for u in users}.keys()\n",
         "def n_active(users):\n    return active(users)[0]\n"),
    ]
    good, bad, caller = table[v]
    fn = "totals" if v == 1 else "active"
    call, expect = ("n_active([1, 2])", "2") if v in (0, 1) else ("n_active([' a'])" if v == 2 else
                                                                  "n_active(['a'])", "'a'")
    feature = "\n\ndef each(users):\n    for u in " + ("totals(users)" if v == 1 else "active(users)") + \
              ":\n        yield u\n"
    base = {f"{p}/__init__.py": "", "tests/__init__.py": "", f"{p}/users.py": good,
            f"{p}/stats.py": f"from {p}.users import {fn}\n\n\n{caller}",
            "tests/test_stats.py": _t(p, "stats", "n_active", "    def test_n(self):\n"
                                      f"        self.assertEqual({call}, {expect})\n")}
    c2 = {**base, f"{p}/users.py": bad + feature,
          "tests/test_each.py": _t(p, "users", "each", "    def test_each(self):\n"
                                   f"        self.assertTrue(list(each({'[1]' if v < 2 else repr(['x'])})))\n")}
    return _Variant([("users and stats", base), (f"users: lazy {fn}, add each", c2)], 1,
                    f"from {p}.stats import n_active; {call}", [(f"{p}/users.py", "def each(")])


def _handler_removed(v: int, p: str) -> _Variant:
    """The regressing commit drops an exception handler (and adds a feature that later tests use)."""
    table = [
        ("def port(text):\n    try:\n        return int(text)\n    except ValueError:\n        return 8080\n",
         "def port(text):\n    return int(text)\n", "port('http')", "8080"),
        ("def lookup(table, key):\n    try:\n        return table[key]\n    except KeyError:\n        return None\n",
         "def lookup(table, key):\n    return table[key]\n", "lookup({}, 'a')", "None"),
        ("import json\n\n\ndef parse(raw):\n    try:\n        return json.loads(raw)\n"
         "    except ValueError:\n        return {}\n",
         "import json\n\n\ndef parse(raw):\n    return json.loads(raw)\n", "parse('{oops')", "{}"),
        ("def ratio(a, b):\n    try:\n        return a / b\n    except ZeroDivisionError:\n        return 0.0\n",
         "def ratio(a, b):\n    return a / b\n", "ratio(1, 0)", "0.0"),
    ]
    good, bad, call, expect = table[v]
    name = call.split("(")[0]
    feature = "\n\ndef describe(x):\n    return f'<{x}>'\n"
    base = {f"{p}/__init__.py": "", "tests/__init__.py": "", f"{p}/io.py": good,
            "tests/test_io.py": _t(p, "io", name, f"    def test_{name}(self):\n"
                                   f"        self.assertEqual({call}, {expect})\n")}
    c2 = {**base, f"{p}/io.py": bad + feature}
    c3 = {**c2, "tests/test_describe.py": _t(p, "io", "describe", "    def test_describe(self):\n"
                                             "        self.assertEqual(describe(1), '<1>')\n")}
    return _Variant([("io", base), (f"io: simpler {name}, add describe", c2), ("tests for describe", c3)], 1,
                    f"from {p}.io import {name}; {call}", [(f"{p}/io.py", "def describe(")])


def _statement(v: int, p: str) -> _Variant:
    """The regressing commit adds or drops one statement among others it keeps (in a function off the stack)."""
    table = [
        # an early return added to a helper: the caller crashes on None
        ("def find(users, name):\n    for u in users:\n        if u['name'] == name:\n            return u\n"
         "    return {'name': name, 'role': 'guest'}\n",
         "def find(users, name):\n    if not users:\n        return None\n    for u in users:\n"
         "        if u['name'] == name:\n            return u\n    audit(name)\n"
         "    return {'name': name, 'role': 'guest'}\n",
         "def role(users, name):\n    return find(users, name)['role'].upper()\n", "role([], 'ann')", "'GUEST'"),
        # a normalising statement dropped while logging is added
        ("def find(users, name):\n    name = name.strip().lower()\n    return users[name]\n",
         "def find(users, name):\n    audit(name)\n    return users[name]\n",
         "def role(users, name):\n    return find(users, name)['role'].upper()\n",
         "role({'ann': {'role': 'admin'}}, ' Ann')", "'ADMIN'"),
        # a guard dropped while logging is added
        ("def find(users, name):\n    if not users:\n        return {'role': 'none'}\n"
         "    return users[-1] if users[-1]['name'] == name else users[0]\n",
         "def find(users, name):\n    audit(name)\n    return users[-1] if users[-1]['name'] == name else users[0]\n",
         "def role(users, name):\n    return find(users, name)['role'].upper()\n", "role([], 'x')", "'NONE'"),
        # a statement added that drops the first row (a header that is not there)
        ("def find(users, name):\n    rows = list(users)\n    return rows[0] if rows else {'role': 'none'}\n",
         "def find(users, name):\n    rows = list(users)\n    rows = rows[1:]\n    audit(name)\n"
         "    return rows[0]\n",
         "def role(users, name):\n    return find(users, name)['role'].upper()\n", "role([{'role': 'x'}], 'a')",
         "'X'"),
    ]
    good, bad, caller, call, expect = table[v]
    audit = "\n\nLOG = []\n\n\ndef audit(name):\n    LOG.append(name)\n"
    base = {f"{p}/__init__.py": "", "tests/__init__.py": "", f"{p}/users.py": good,
            f"{p}/access.py": f"from {p}.users import find\n\n\n{caller}",
            "tests/test_access.py": _t(p, "access", "role", f"    def test_role(self):\n"
                                       f"        self.assertEqual({call}, {expect})\n")}
    c2 = {**base, f"{p}/users.py": bad + audit}
    c3 = {**c2, "tests/test_audit.py": _t(p, "users", "LOG, audit", "    def test_audit(self):\n"
                                          "        audit('z')\n        self.assertIn('z', LOG)\n")}
    return _Variant([("users", base), ("users: audit lookups", c2), ("audit tests", c3)], 1,
                    f"from {p}.access import role; {call}", [(f"{p}/users.py", "def audit(")])


BUILDERS = {"newest": _newest, "feature_later": _feature_later, "reformatted": _reformatted, "rename": _rename,
            "return_type": _return_type, "handler_removed": _handler_removed, "statement": _statement}


def make_scenario(path: Path, shape: str, seed: int = 0, split: str = "dev") -> RegressionCase:
    """A repository of `shape` from the `split` ("dev" or "holdout") variants (deterministic for a seed)."""
    if shape not in BUILDERS:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(BUILDERS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected dev or holdout")
    rng = random.Random(f"{shape}-{seed}-{split}")
    variant = SPLITS[split][seed % 2]
    pkg = rng.choice(PKGS[split])
    spec = BUILDERS[shape](variant, pkg)
    repo = _Repo(path, seed)
    shas = [repo.commit(msg, files) for msg, files in spec.commits]
    stack = _traceback(repo.path, spec.crash)
    case = RegressionCase(repo.path, shape, seed, shas[spec.bad], _report(repo.path, pkg, stack), spec.keep,
                          crash_code=spec.crash)
    case.variant = f"{split}-{variant}"  # type: ignore[attr-defined]
    return case
