"""An operation a rewrite dropped, or applied in its own lines and not in an older one, is put back around the
expression that lacks it; a table rebased to another unit gets the entry it missed moved by the same factor.
Each case is a real repository with a feature commit that regressed, reported by the real reporter and
investigated end to end with the offline brain: the fix keeps the feature and its tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.testing.regressions import RegressionCase, _Repo
from swarm.models import ErrorReport
from tests.integration.test_fix_engine import _investigate
from tests.integration.test_fix_engine_dropped import _reported, _shown

PYTEST = "python -m pytest -q -p no:cacheprovider"  # the projects' tests are pytest functions: a suite that runs them


async def _fixed(repo: _Repo, shape: str, seed: int, bad: str, report: ErrorReport, tmp: Path
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The investigation's express and implement results, once it fixed the bisected suspect."""
    result = await _investigate(RegressionCase(repo.path, shape, seed, bad, report, test_command=PYTEST), tmp)
    express, impl = result["express"], result["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == bad, "\n".join(impl["search"]["log"])
    return express, impl

_STATS_OLD = '''def mean(values):
    """values: the readings of one sensor, as the CSV gives them (text)."""
    total = sum(float(v) for v in values)
    return total / len(values)
'''
# the rewrite skips blank readings and sums precisely; the readings are no longer converted from text
_STATS_NEW = '''import math


def mean(values):
    """values: the readings of one sensor, as the CSV gives them (text); blanks are skipped."""
    readings = list(filter(str.strip, values))
    if not readings:
        raise ValueError("no readings")
    return math.fsum(readings) / len(readings)
'''

_PARTS_OLD = '''MIN_PART = 5   # MiB


class PartTooSmall(ValueError):
    pass


def check_parts(sizes):
    """sizes: each part's size in MiB; every part but the last must reach MIN_PART."""
    if sizes[:-1] and min(sizes[:-1]) < MIN_PART:
        raise PartTooSmall(f"a part of {min(sizes[:-1])} MiB is under {MIN_PART}")
    return len(sizes)
'''
# MIN_PART moves to KiB; the new function converts, the older check still compares MiB with KiB
_PARTS_NEW = _PARTS_OLD.replace("MIN_PART = 5   # MiB", "MIN_PART = 5 * 1024   # KiB") + '''

def shortfall(sizes):
    """KiB the smallest part lacks."""
    return max(0, MIN_PART - min(sizes) * 1024)
'''

_PRICES_OLD = '''PRICES = {"tea": 2.5, "cake": 4.0, "soup": 6.5}   # euros


def price_of(item):
    return PRICES[item]
'''
# the table moves to cents and gains an item; soup keeps its euro price
_PRICES_NEW = '''PRICES = {"tea": 250, "cake": 400, "soup": 6.5, "bread": 300}   # cents


def price_of(item):
    cents = PRICES[item]
    if cents != int(cents):
        raise ValueError(f"price of {item} is not a whole number of cents: {cents}")
    return int(cents)
'''


async def test_a_conversion_the_rewrite_dropped_is_put_back_around_what_it_reads_now(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 71)
    repo.commit("sensors: mean", {
        "sensors/__init__.py": "", "sensors/stats.py": _STATS_OLD, "tests/__init__.py": "",
        "tests/test_stats.py": "from sensors.stats import mean\n\n\ndef test_mean():\n"
                               "    assert mean(['1', '3']) == 2\n"})
    repo.commit("docs", {"README.md": "sensors\n"})
    bad = repo.commit("sensors: skip blank readings", {
        "sensors/stats.py": _STATS_NEW,
        "tests/test_stats.py": "import pytest\nfrom sensors.stats import mean\n\n\ndef test_all_blank():\n"
                               "    with pytest.raises(ValueError):\n        mean(['', ' '])\n"})
    report = _reported(repo, "from sensors.stats import mean", "mean(['20.5', '', '21.5'])", "sensors")
    assert "TypeError" in report.error
    express, impl = await _fixed(repo, "dropped-conversion", 71, bad, report, tmp_path)
    fixed = _shown(repo, express["branch"], "sensors/stats.py")
    # the conversion goes back around what is summed now (or what is kept of it); the blank readings stay skipped
    # the conversion goes back around what is summed now, or around what is kept of the readings
    assert "float(v) for v in" in fixed and "filter(str.strip, values)" in fixed and "fsum(" in fixed, fixed
    assert impl["fix_kind"] == "template:transfer", impl


async def test_a_conversion_the_suspect_wrote_in_its_own_lines_goes_to_the_older_line_it_missed(
        tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 72)
    repo.commit("upload: multipart", {
        "upload/__init__.py": "", "upload/parts.py": _PARTS_OLD, "tests/__init__.py": "",
        "tests/test_parts.py": "import pytest\nfrom upload.parts import PartTooSmall, check_parts\n\n\n"
                               "def test_small():\n    with pytest.raises(PartTooSmall):\n"
                               "        check_parts([0, 1])\n"})
    bad = repo.commit("upload: part sizes in KiB, shortfall", {
        "upload/parts.py": _PARTS_NEW,
        "tests/test_shortfall.py": "from upload.parts import shortfall\n\n\ndef test_shortfall():\n"
                                   "    assert shortfall([4, 9]) == 1024\n"})
    repo.commit("docs", {"README.md": "upload\n"})
    report = _reported(repo, "from upload.parts import check_parts", "check_parts([8, 6, 2])", "upload")
    assert "PartTooSmall" in report.error
    express, impl = await _fixed(repo, "sibling-conversion", 72, bad, report, tmp_path)
    fixed = _shown(repo, express["branch"], "upload/parts.py")
    assert "min(sizes[:-1]) * 1024 < MIN_PART" in fixed, fixed
    assert "def shortfall" in fixed and "MIN_PART = 5 * 1024" in fixed  # the feature and its unit stay


async def test_the_entry_a_rebased_table_missed_is_moved_by_the_factor_the_others_moved_by(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 73)
    repo.commit("cafe: prices", {
        "cafe/__init__.py": "", "cafe/menu.py": _PRICES_OLD, "tests/__init__.py": "",
        "tests/test_menu.py": "from cafe.menu import price_of\n\n\ndef test_tea():\n"
                              "    assert price_of('tea') == 2.5\n"})
    bad = repo.commit("cafe: prices in cents, bread", {
        "cafe/menu.py": _PRICES_NEW,
        "tests/test_menu.py": "from cafe.menu import price_of\n\n\ndef test_tea():\n"
                              "    assert price_of('tea') == 250\n\n\ndef test_bread():\n"
                              "    assert price_of('bread') == 300\n"})
    repo.commit("docs", {"README.md": "cafe\n"})
    report = _reported(repo, "from cafe.menu import price_of", "price_of('soup')", "cafe")
    assert "ValueError" in report.error
    express, impl = await _fixed(repo, "rebased-table", 73, bad, report, tmp_path)
    fixed = _shown(repo, express["branch"], "cafe/menu.py")
    assert '"soup": 650' in fixed and '"bread": 300' in fixed, fixed
    # the check the suspect added still runs (undoing its first line to `return PRICES[item]` would skip it)
    assert "raise ValueError" in fixed and "return PRICES[item]" not in fixed, fixed
    assert impl["fix_kind"] == "template:rebased", impl


_TAX_OLD = '''RATES = {"fr": 0.2, "de": 0.19}
STANDARD = 0.21


def vat_rate(country):
    if country not in RATES:
        return STANDARD
    return RATES[country]
'''
# the rewrite answers None for a country it does not know, so a caller may ask; the invoice still multiplies
_TAX_NEW = '''RATES = {"fr": 0.2, "de": 0.19, "it": 0.22}
STANDARD = 0.21


def vat_rate(country):
    """The VAT rate of `country`, or None where it has no rate of its own."""
    return RATES.get(country.lower())
'''
_INVOICE = '''from billing.tax import vat_rate


def total(net, country):
    return round(net * (1 + vat_rate(country)), 2)
'''


async def test_a_value_the_function_now_answers_none_for_is_computed_where_the_caller_reads_it(
        tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 74)
    repo.commit("billing: vat", {
        "billing/__init__.py": "", "billing/tax.py": _TAX_OLD, "billing/invoice.py": _INVOICE,
        "tests/__init__.py": "",
        "tests/test_tax.py": "from billing.tax import vat_rate\n\n\ndef test_fr():\n"
                             "    assert vat_rate('fr') == 0.2\n"})
    bad = repo.commit("billing: italy, country codes in any case, None for unknown countries", {
        "billing/tax.py": _TAX_NEW,
        "tests/test_tax.py": "from billing.tax import vat_rate\n\n\ndef test_fr():\n"
                             "    assert vat_rate('FR') == 0.2\n\n\ndef test_unknown():\n"
                             "    assert vat_rate('xx') is None\n"})
    repo.commit("docs", {"README.md": "billing\n"})
    report = _reported(repo, "from billing.invoice import total", "total(100, 'es')", "billing")
    assert "NoneType" in report.error
    express, impl = await _fixed(repo, "none-answered", 74, bad, report, tmp_path)
    assert impl["fix_kind"] == "template:old_value", impl
    invoice = _shown(repo, express["branch"], "billing/invoice.py")
    assert "if value is None:" in invoice and "value = STANDARD" in invoice, invoice
    assert "return RATES.get(country.lower())" in _shown(repo, express["branch"], "billing/tax.py")  # None stays


_RATES = ("class TooHeavy(Exception):\n    pass\n\n\ndef price(kg):\n    if kg >= 30:\n"
          "        raise TooHeavy(f'parcel too heavy: {kg} kg')\n    return 5 if kg < 1 else 9\n")
_QUOTE = "from ship.rates import price\n\n\ndef quote(items):\n    grams = sum(i['g'] for i in items)\n" \
         "    return price(grams / 1000)\n"


async def test_no_fix_says_how_near_the_search_came(tmp_path: Path) -> None:
    """The packaging weight the suspect added is what puts a 29.9 kg order over the 30 kg limit, and a test of
    the suspect's holds that packaging counts: undoing it makes the repro pass and fails that test. No patch is
    claimed, and the reason names that nearest miss (review 23: "none of 36 candidate patches" could not tell a
    near miss from a search that went nowhere)."""
    repo = _Repo(tmp_path / "repo", 75)
    repo.commit("ship: quotes", {"ship/__init__.py": "", "ship/rates.py": _RATES, "ship/quote.py": _QUOTE,
                                 "tests/__init__.py": "",
                                 "tests/test_rates.py": "from ship.rates import price\n\n\ndef test_light():\n"
                                                        "    assert price(0.5) == 5\n"})
    bad = repo.commit("quote: packaging weight", {
        "ship/quote.py": _QUOTE.replace("\n\ndef quote", "PACKAGING_G = 150\n\n\ndef quote").replace(
            "for i in items)\n", "for i in items) + PACKAGING_G\n"),
        "tests/test_quote.py": "from ship.quote import quote\n\n\ndef test_packaging_counts():\n"
                               "    assert quote([{'g': 900}]) == 9\n"})
    repo.commit("docs", {"README.md": "ship\n"})
    report = _reported(repo, "from ship.quote import quote", "quote([{'g': 29900}])", "ship")
    assert "TooHeavy" in report.error
    result = await _investigate(RegressionCase(repo.path, "feature-is-the-cause", 75, bad, report,
                                               test_command=PYTEST), tmp_path)
    express, impl = result["express"], result["implement"]
    assert express["status"] == "no_fix" and express["suspect_commit"] == bad, (express, impl["search"]["log"])
    assert "made the repro pass and failed the tests, the first: " in impl["reason"], impl["reason"]


_VERSIONS_OLD = '''import re

VERSION = re.compile(r"(?P<major>\\d+)\\.(?P<minor>\\d+)\\.(?P<patch>\\d+)")


def parse(text):
    m = VERSION.fullmatch(text)
    return int(m.group("major")), int(m.group("minor")), int(m.group("patch"))


def is_bugfix(old, new):
    a, b = VERSION.fullmatch(old), VERSION.fullmatch(new)
    return a.group("minor") == b.group("minor") and a.group("patch") != b.group("patch")
'''
# the rewrite names the third number `micro` and reads a pre-release tag; is_bugfix still asks for `patch`
_VERSIONS_NEW = _VERSIONS_OLD.replace(
    '(?P<patch>\\d+)")', '(?P<micro>\\d+)(?:-(?P<pre>[a-z]+\\d*))?")').replace(
    '''    return int(m.group("major")), int(m.group("minor")), int(m.group("patch"))''',
    '''    return int(m.group("major")), int(m.group("minor")), int(m.group("micro")), m.group("pre")''')


async def test_a_lookup_of_a_regex_group_the_suspect_renamed_reads_its_new_name(tmp_path: Path) -> None:
    """`m.group("patch")` after the group became `micro`: `IndexError: no such group` names no group, so the
    renamed group is read off the suspect's change and off the crash line (review 23, logparse)."""
    repo = _Repo(tmp_path / "repo", 76)
    repo.commit("semver: parse", {"semver/__init__.py": "", "semver/version.py": _VERSIONS_OLD, "tests/__init__.py": "",
                                  "tests/test_version.py": "from semver.version import parse\n\n\ndef test_parse():\n"
                                                           "    assert parse('1.2.3') == (1, 2, 3)\n"})
    bad = repo.commit("semver: pre-releases", {
        "semver/version.py": _VERSIONS_NEW,
        "tests/test_version.py": "from semver.version import parse\n\n\ndef test_parse():\n"
                                 "    assert parse('1.2.3-rc1') == (1, 2, 3, 'rc1')\n"})
    repo.commit("docs", {"README.md": "semver\n"})
    report = _reported(repo, "from semver.version import is_bugfix", "is_bugfix('2.4.1', '2.4.2')", "semver")
    assert "IndexError: no such group" in report.error
    express, impl = await _fixed(repo, "renamed-group", 76, bad, report, tmp_path)
    fixed = _shown(repo, express["branch"], "semver/version.py")
    assert 'a.group("micro") != b.group("micro")' in fixed and "(?P<pre>" in fixed, fixed


_SENSORS_OLD = '''RAW = {"boiler": 64.5, "pump": 41.0}


def reading(sensor):
    """Degrees Celsius."""
    return RAW[sensor]
'''
_SENSORS_NEW = '''RAW = {"boiler": 645, "pump": 410, "tank": 220}


def reading(sensor):
    """Tenths of a degree Celsius, as the bus sends them."""
    return RAW[sensor]
'''
_PLANT = '''from plant.sensors import reading

LIMIT = 80.0


class Overheat(Exception):
    pass


def average(sensors):
    return sum(reading(s) for s in sensors) / len(sensors)


def check(sensor):
    if reading(sensor) > LIMIT:
        raise Overheat(f"{sensor} over {LIMIT} degrees")
    return "ok"
'''


async def test_the_suspects_rewrite_of_a_call_is_repeated_where_it_missed_one(tmp_path: Path) -> None:
    """The sensors now answer in tenths of a degree; the suspect divided by 10 in `average` and not in `check`,
    which now sees 64.5 degrees as 645 (review 24, promos: a unit change carried to one caller of two)."""
    repo = _Repo(tmp_path / "repo", 77)
    repo.commit("plant: sensors", {"plant/__init__.py": "", "plant/sensors.py": _SENSORS_OLD, "plant/watch.py": _PLANT,
                                   "tests/__init__.py": "",
                                   "tests/test_watch.py": "from plant.watch import average\n\n\ndef test_average():\n"
                                                          "    assert average(['boiler', 'pump']) == 52.75\n"})
    bad = repo.commit("sensors: tenths of a degree from the bus, the tank", {
        "plant/sensors.py": _SENSORS_NEW,
        "plant/watch.py": _PLANT.replace("sum(reading(s) for s in sensors)", "sum(reading(s) / 10 for s in sensors)"),
        "tests/test_watch.py": "from plant.watch import average\n\n\ndef test_average():\n"
                               "    assert average(['boiler', 'pump', 'tank']) == 42.5\n"})
    repo.commit("docs", {"README.md": "plant\n"})
    report = _reported(repo, "from plant.watch import check", "check('boiler')", "plant")
    assert "Overheat" in report.error
    express, impl = await _fixed(repo, "missed-caller", 77, bad, report, tmp_path)
    fixed = _shown(repo, express["branch"], "plant/watch.py")
    assert "if reading(sensor) / 10 > LIMIT:" in fixed and "reading(s) / 10 for s" in fixed, fixed
    # the suspect's `/ 10` is a conversion it wrote (a wrapper) and a rewrite of the call: either carries it
    assert impl["fix_kind"] in ("template:propagate", "template:transfer"), impl["fix_kind"]


_CART = '''from shop.promo import discount


def line_total(unit_cents, qty, code=None):
    return unit_cents * qty * (1 - discount(code))
'''
_INVOICE_LINE = '''from shop.promo import discount


def invoice_line(unit_cents, qty, code=None):
    return round(unit_cents * qty * (1 - discount(code)))
'''


async def test_the_suspects_rewrite_of_an_expression_is_repeated_where_it_missed_the_same_code(
        tmp_path: Path) -> None:
    """Discounts move from fractions to whole percents; the suspect rewrote `1 - discount(code)` as
    `(100 - discount(code)) / 100` in the cart and not in the invoice, which now bills a negative amount (review
    24, promos). No operation wraps the old expression (`/ 100` around `1 - discount(code)` is wrong): the
    rewrite itself, its locals as holes, is repeated at the invoice's copy of the old code."""
    promo_old = "RATES = {'SPRING': 0.25}\n\n\ndef discount(code):\n    return RATES.get(code, 0)\n"
    promo_new = promo_old.replace("{'SPRING': 0.25}", "{'SPRING': 25, 'STAFF': 40}   # percent")
    invoice_check = ("\n\nclass NegativeLine(ValueError):\n    pass\n\n\ndef billed(unit_cents, qty, code=None):\n"
                     "    amount = invoice_line(unit_cents, qty, code)\n    if amount < 0:\n"
                     "        raise NegativeLine(amount)\n    return amount\n")
    repo = _Repo(tmp_path / "repo", 78)
    repo.commit("shop: promo codes", {
        "shop/__init__.py": "", "shop/promo.py": promo_old, "shop/cart.py": _CART,
        "shop/invoice.py": _INVOICE_LINE + invoice_check, "tests/__init__.py": "",
        "tests/test_cart.py": "from shop.cart import line_total\n\n\ndef test_spring():\n"
                              "    assert line_total(1000, 2, 'SPRING') == 1500\n"})
    bad = repo.commit("promo: whole percents, staff code", {
        "shop/promo.py": promo_new,
        "shop/cart.py": _CART.replace("(1 - discount(code))", "(100 - discount(code)) / 100"),
        "tests/test_cart.py": "from shop.cart import line_total\n\n\ndef test_staff():\n"
                              "    assert line_total(1000, 2, 'STAFF') == 1200\n"})
    repo.commit("docs", {"README.md": "shop\n"})
    report = _reported(repo, "from shop.invoice import billed", "billed(1200, 3, code='SPRING')", "shop")
    assert "NegativeLine" in report.error
    express, impl = await _fixed(repo, "missed-rewrite", 78, bad, report, tmp_path)
    fixed = _shown(repo, express["branch"], "shop/invoice.py")
    assert "round(unit_cents * qty * (100 - discount(code)) / 100)" in fixed, fixed
    assert impl["fix_kind"] == "template:propagate", impl["fix_kind"]
