"""The fix engine on a caller left behind when a function started returning several parts (review 20's ridematch
shape, now dev data): `return counts` became `return spoiled, counts`, or a list became `{"rows": ..., ...}`.

Real git histories, real test runs and the real reporter, as in `test_fix_engine_dropped.py`; each test fails
without `agents.parts` (checked by taking it out of `agents.contracts`).
"""

from __future__ import annotations

import re
from pathlib import Path

from agents.parts import returns_made_parts
from agents.testing.regressions import _Repo
from tests.integration.test_fix_engine_dropped import _reported, _shown
from tests.support.fixengine import repro_bisect_repair


def test_a_caller_still_taking_the_whole_of_a_new_tuple_takes_the_part_built_from_the_old_return(
        tmp_path: Path) -> None:
    """`tally()` returned the counts; it now also returns the spoiled ballots, first: `(spoiled, counts)`. The
    commit updated its test, not `winner()` in another module, which calls `.get` on a tuple. The part built
    from what the old return used (`counts`) is taken, the new feature stays."""
    repo = _Repo(tmp_path / "repo", 97)
    old = ("def tally(ballots):\n    counts = {}\n    for b in ballots:\n        counts[b] = counts.get(b, 0) + 1\n"
           "    return counts\n")
    new = ("def tally(ballots):\n    counts, spoiled = {}, []\n    for b in ballots:\n        if not b.strip():\n"
           "            spoiled.append(b)\n            continue\n        counts[b] = counts.get(b, 0) + 1\n"
           "    return spoiled, counts\n")
    results = ("from vote.count import tally\n\n\ndef winner(ballots):\n    counts = tally(ballots)\n"
               "    return max(counts, key=counts.get)\n")
    test_old = "from vote.count import tally\n\n\ndef test_tally():\n    assert tally(['a', 'b', 'a'])['a'] == 2\n"
    test_new = ("from vote.count import tally\n\n\ndef test_tally():\n    spoiled, counts = tally(['a', ' ', 'a'])\n"
                "    assert counts == {'a': 2} and spoiled == [' ']\n")
    repo.commit("vote: count", {"vote/__init__.py": "", "vote/count.py": old, "vote/results.py": results,
                                "tests/test_count.py": test_old})
    bad = repo.commit("vote: keep spoiled ballots apart", {"vote/count.py": new, "tests/test_count.py": test_new})
    repo.commit("docs", {"README.md": "vote\n"})
    parts = returns_made_parts(repo.path, bad, bad + "^", ["vote/count.py"])
    assert parts["tally"].kind == "tuple" and parts["tally"].order == [1, 0], parts
    report = _reported(repo, "from vote.results import winner", "winner(['x', 'y', 'y'])", "vote")
    assert "'tuple' object has no attribute 'get'" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "returns a tuple now" in result.candidate.description, result.attempts
    assert "    counts = tally(ballots)[1]\n" in (repo.path / "vote/results.py").read_text()
    assert "return spoiled, counts" in (repo.path / "vote/count.py").read_text()  # the feature stays


def test_a_caller_iterating_what_is_now_a_dict_of_parts_takes_the_entry_that_holds_the_old_list(
        tmp_path: Path) -> None:
    """`load_rows()` returned the rows; it now returns `{"skipped": n, "rows": rows}` so an import can say how
    many lines it dropped. `total()` still iterates the result: its keys, strings, are indexed by a field name."""
    repo = _Repo(tmp_path / "repo", 101)
    old = ("def load_rows(lines):\n    rows = [dict(zip(('sku', 'qty'), line.split(','))) for line in lines if line]\n"
           "    return rows\n")
    new = ("def load_rows(lines):\n    rows = [dict(zip(('sku', 'qty'), line.split(','))) for line in lines\n"
           "            if line.count(',') == 1]\n    return {'skipped': len(lines) - len(rows), 'rows': rows}\n")
    totals = ("from stock.rows import load_rows\n\n\ndef total(lines):\n"
              "    return sum(int(row['qty']) for row in load_rows(lines))\n")
    test_new = ("from stock.rows import load_rows\n\n\ndef test_skipped():\n"
                "    assert load_rows(['a,1', 'bad'])['skipped'] == 1\n")
    repo.commit("stock: rows", {"stock/__init__.py": "", "stock/rows.py": old, "stock/totals.py": totals})
    bad = repo.commit("stock: count skipped lines", {"stock/rows.py": new, "tests/test_rows.py": test_new})
    repo.commit("docs", {"README.md": "stock\n"})
    report = _reported(repo, "from stock.totals import total", "total(['a,1', 'b,2'])", "stock")
    assert report.error.startswith("TypeError: string indices must be integers")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "returns a dict now" in result.candidate.description, result.attempts
    assert "for row in load_rows(lines)['rows'])" in (repo.path / "stock/totals.py").read_text()


async def test_a_caller_left_in_a_reordered_parameter_list_s_old_order_passes_each_value_where_it_went_before(
        tmp_path: Path) -> None:
    """`transfer(ledger, src, dst, amount)` becomes `transfer(ledger, amount, src, dst)` (the commit message says
    why); the commit updates its own test, not `payroll.pay()`, whose calls now hand an account name over as the
    amount, and `transfer` fails deep inside. The repro built on `transfer` with the report's arguments encodes
    the caller's old order, so no fix at the caller could pass it: the commit changed `transfer`'s parameters, so
    the caller's own call (captured by the reporter) becomes the repro, and every call of the moved functions in
    the module left behind takes its values in the new order (review 20's rotaswap shape, now dev data)."""
    from agents.testing.regressions import RegressionCase
    from tests.integration.test_fix_engine import _investigate

    repo = _Repo(tmp_path / "repo", 103)
    old = ("def transfer(ledger, src, dst, amount):\n    ledger[src] -= amount\n    ledger[dst] = ledger.get(dst, 0)"
           " + amount\n    return ledger[dst]\n\n\ndef refund(ledger, src, dst, amount):\n"
           "    return transfer(ledger, dst, src, amount)\n")
    new = ("class Overdrawn(ValueError):\n    pass\n\n\n"
           "def transfer(ledger, amount, src, dst):\n    if ledger[src] < amount:\n        raise Overdrawn(src)\n"
           "    ledger[src] -= amount\n    ledger[dst] = ledger.get(dst, 0) + amount\n    return ledger[dst]\n\n\n"
           "def refund(ledger, amount, src, dst):\n    return transfer(ledger, amount, dst, src)\n")
    payroll = ("from bank.ledger import refund, transfer\n\n\ndef pay(ledger, staff):\n    paid = {}\n"
               "    for name, salary in staff.items():\n"
               "        paid[name] = transfer(ledger, 'company', name, salary)\n"
               "    return paid\n\n\ndef claw_back(ledger, name, salary):\n"
               "    return refund(ledger, 'company', name, salary)\n")
    test = ("import unittest\n\nfrom bank.ledger import Overdrawn, transfer\n\n\nclass Overdraw(unittest.TestCase):\n"
            "    def test_overdrawn(self):\n        with self.assertRaises(Overdrawn):\n"
            "            transfer({'a': 1}, 5, 'a', 'b')\n")
    repo.commit("bank: ledger", {"bank/__init__.py": "", "bank/ledger.py": old, "bank/payroll.py": payroll,
                                 "tests/__init__.py": ""})
    bad = repo.commit("bank: refuse overdrafts; the amount comes first, as in the statements API",
                      {"bank/ledger.py": new, "tests/test_ledger.py": test})
    repo.commit("docs", {"README.md": "bank\n"})
    report = _reported(repo, "from bank.payroll import pay", "pay({'company': 900}, {'ann': 300, 'bo': 200})",
                       "bank")
    assert report.error == "KeyError: 'ann'", report.error  # a name where the payer was expected
    out = await _investigate(RegressionCase(repo.path, "reordered", 103, bad, report), tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed", (express, impl)
    assert express["repro"]["target"] == "bank/payroll.py:pay", express["repro"]
    fixed = _shown(repo, express["branch"], "bank/payroll.py")
    assert "transfer(ledger, salary, 'company', name)" in fixed, fixed
    assert "refund(ledger, salary, 'company', name)" in fixed, fixed  # the other call left behind moves too
    assert "raise Overdrawn(src)" in _shown(repo, express["branch"], "bank/ledger.py")  # the feature stays


def test_a_caller_left_reading_the_old_unit_of_a_result_converted_through_a_units_table_is_put_back_in_it(
        tmp_path: Path) -> None:
    """`upload_kb()` summed sizes in KB; sizes may now say their unit (the feature) and a new helper converts each
    through a table, `size_bytes(f) = f['size'] * TO_BYTES[unit]`, so the sum is in bytes. `check()` in another
    module still compares it with a limit in KB. No number was replaced in `upload_kb` itself: the factor is read
    from the table its new helper multiplies by (1024; 1 is no factor) (review 20's gridbill shape, now dev
    data)."""
    repo = _Repo(tmp_path / "repo", 107)
    old = "def upload_kb(files):\n    \"\"\"KB of an upload.\"\"\"\n    return sum(f['size'] for f in files)\n"
    new = ("TO_BYTES = {'B': 1, 'KB': 1024}\n\n\ndef size_bytes(f):\n"
           "    return f['size'] * TO_BYTES[f.get('unit', 'KB')]\n\n\n"
           "def upload_kb(files):\n    \"\"\"Bytes of an upload, whatever unit each file gives.\"\"\"\n"
           "    return sum(size_bytes(f) for f in files)\n")
    quota = ("from drop.sizes import upload_kb\n\nLIMIT_KB = 4096\n\n\nclass QuotaExceeded(ValueError):\n    pass\n\n\n"
             "def check(files):\n    used = upload_kb(files)\n    if used > LIMIT_KB:\n"
             "        raise QuotaExceeded(f'{used} KB over the {LIMIT_KB} KB quota')\n    return LIMIT_KB - used\n")
    test = ("from drop.sizes import upload_kb\n\n\ndef test_units():\n"
            "    assert upload_kb([{'size': 2, 'unit': 'KB'}, {'size': 10, 'unit': 'B'}]) == 2058\n")
    repo.commit("drop: uploads and quota", {"drop/__init__.py": "", "drop/sizes.py": old, "drop/quota.py": quota})
    bad = repo.commit("drop: sizes in any unit", {"drop/sizes.py": new, "tests/test_sizes.py": test})
    repo.commit("docs", {"README.md": "drop\n"})
    report = _reported(repo, "from drop.quota import check", "check([{'size': 300}, {'size': 700}])", "drop")
    assert "over the 4096 KB quota" in report.error, report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:unit", result.attempts
    # `//` gives back production's int exactly (the value oracle prefers it), `/` the same number as a float
    assert re.search(r"    used = \(upload_kb\(files\) //? 1024\)\n", (repo.path / "drop/quota.py").read_text())
    assert "TO_BYTES[" in (repo.path / "drop/sizes.py").read_text()  # the feature stays


async def test_a_reader_left_on_the_old_format_of_what_its_writer_now_writes_as_iso_reads_both(
        tmp_path: Path) -> None:
    """`record_sale()` wrote `sold_on` with `strftime(STAMP)` (`STAMP = "%m/%d/%Y"`) and now writes ISO for an
    export (the feature); `month_of()` in another module still parses `STAMP`, and sales recorded since fail.
    The report's value fails at every commit, so nothing bisects: the suspect is the commit that changed how
    often the name holding the format the error quotes appears (the writer stopped using `STAMP`), not a later
    commit of the reader's module; and the reader takes both formats, the new one read off that commit (review
    20's vetrecall shape, now dev data)."""
    from agents.testing.regressions import RegressionCase
    from tests.integration.test_fix_engine import _investigate

    repo = _Repo(tmp_path / "repo", 109)
    sales = ('STAMP = "%m/%d/%Y"\n\n\ndef record_sale(book, item, day):\n'
             "    entry = {'item': item, 'sold_on': day.strftime(STAMP)}\n    book.append(entry)\n    return entry\n")
    sales_iso = sales.replace("day.strftime(STAMP)", "day.isoformat()")
    months = ("from datetime import datetime\n\nfrom shop.sales import STAMP\n\n\ndef month_of(entry):\n"
              "    return datetime.strptime(entry['sold_on'], STAMP).month\n\n\n"
              "def by_month(book):\n    out = {}\n    for entry in book:\n"
              "        out[month_of(entry)] = out.get(month_of(entry), 0) + 1\n    return out\n")
    test = ("import unittest\nfrom datetime import date\n\nfrom shop.sales import record_sale\n\n\n"
            "class Export(unittest.TestCase):\n    def test_iso(self):\n"
            "        self.assertEqual(record_sale([], 'pen', date(2024, 2, 9))['sold_on'], '2024-02-09')\n\n\n"
            "class OldBooks(unittest.TestCase):\n    def test_typed_dates(self):\n"
            "        from shop.months import by_month\n"
            "        self.assertEqual(by_month([{'item': 'ink', 'sold_on': '03/15/2023'}]), {3: 1})\n")
    repo.commit("shop: sales and months", {"shop/__init__.py": "", "shop/sales.py": sales, "shop/months.py": months,
                                           "tests/__init__.py": ""})
    bad = repo.commit("shop: ISO sale dates for the export", {"shop/sales.py": sales_iso, "tests/test_sales.py": test})
    repo.commit("shop: months docstring", {"shop/months.py": '"""Sales per month."""\n' + months})
    report = _reported(repo, "from shop.months import by_month",
                       "by_month([{'item': 'ink', 'sold_on': '03/15/2023'}, {'item': 'pen', 'sold_on': '2024-02-09'}])",
                       "shop")
    assert "does not match format '%m/%d/%Y'" in report.error, report.error
    out = await _investigate(RegressionCase(repo.path, "format", 109, bad, report), tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == bad, (express, impl)
    fixed = _shown(repo, express["branch"], "shop/months.py")
    assert "except ValueError:" in fixed and "strptime(entry['sold_on'], '%Y-%m-%d').month" in fixed, fixed
    assert "day.isoformat()" in _shown(repo, express["branch"], "shop/sales.py")  # the feature stays


def test_a_naive_time_compared_with_the_suspect_s_now_aware_one_is_read_in_the_suspect_s_zone(
        tmp_path: Path) -> None:
    """`opens_at()` returned the clinic's naive local opening time; it now returns it aware, in UTC, for a
    calendar feed (`CLINIC_TZ = ZoneInfo("America/New_York")`, the feature). `is_open()` in another module still
    parses naive local times and compares: `can't compare offset-naive and offset-aware datetimes`. Reading the
    naive time as UTC passes but moves the answer by the zone's offset (8:30 local is before 9:00 local, not
    after 4:00 local): the zone the suspect attached to its own naive value is attached (review 20's tripforms
    shape, now dev data)."""
    repo = _Repo(tmp_path / "repo", 113)
    old = ("from datetime import datetime, time\n\nOPENS = time(9, 0)\n\n\ndef opens_at(day):\n"
           "    return datetime.combine(day, OPENS)\n")
    new = ("from datetime import datetime, time, timezone\nfrom zoneinfo import ZoneInfo\n\n"
           'CLINIC_TZ = ZoneInfo("America/New_York")\nOPENS = time(9, 0)\n\n\ndef opens_at(day):\n'
           "    return datetime.combine(day, OPENS, tzinfo=CLINIC_TZ).astimezone(timezone.utc)\n")
    desk = ("from datetime import datetime\n\nfrom clinic.hours import opens_at\n\n\ndef is_open(stamp):\n"
            "    now = datetime.strptime(stamp, '%Y-%m-%d %H:%M')\n    return now >= opens_at(now.date())\n")
    test = ("from datetime import date\n\nfrom clinic.hours import opens_at\n\n\ndef test_utc():\n"
            "    assert opens_at(date(2024, 1, 8)).isoformat() == '2024-01-08T14:00:00+00:00'\n")
    repo.commit("clinic: hours", {"clinic/__init__.py": "", "clinic/hours.py": old, "clinic/desk.py": desk})
    bad = repo.commit("clinic: opening times in UTC for the calendar feed",
                      {"clinic/hours.py": new, "tests/test_hours.py": test})
    repo.commit("docs", {"README.md": "clinic\n"})
    report = _reported(repo, "from clinic.desk import is_open", "is_open('2024-01-08 08:30')", "clinic")
    assert "can't compare offset-naive and offset-aware datetimes" in report.error, report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:suspect_zone", result.attempts
    text = (repo.path / "clinic/desk.py").read_text()
    assert "strptime(stamp, '%Y-%m-%d %H:%M').replace(tzinfo=CLINIC_TZ)" in text, text
    assert "from clinic.hours import opens_at, CLINIC_TZ" in text, text


def test_a_call_left_behind_gets_what_the_commit_appended_after_the_calls_it_updated(tmp_path: Path) -> None:
    """`session_token()` returned text and now returns bytes (an HMAC'd token, the feature); the commit made
    `auth_header()` call `session_token(u).decode()`, inside an f-string, but left `cookie()` behind, where the
    token is concatenated: `can only concatenate str (not "bytes") to str`. What the commit appended after its
    call is appended after the one it missed, whatever surrounds them (review 21's blogslug shape, dev data)."""
    repo = _Repo(tmp_path / "repo", 127)
    old = "def session_token(user):\n    return f'{user}-{len(user)}'\n"
    new = ("import hashlib\n\n\ndef session_token(user):\n"
           "    return hashlib.sha256(user.encode()).hexdigest()[:12].encode()\n")
    web_old = ("from auth.tokens import session_token\n\n\ndef auth_header(user):\n"
               "    return {'Authorization': f'Token {session_token(user)}'}\n\n\n"
               "def cookie(user):\n    return 'sid=' + session_token(user) + '; Path=/'\n")
    web_new = web_old.replace("{session_token(user)}", "{session_token(user).decode()}")
    test = ("from auth.web import auth_header\n\n\ndef test_header():\n"
            "    assert len(auth_header('ann')['Authorization']) == len('Token ') + 12\n")
    repo.commit("auth: tokens", {"auth/__init__.py": "", "auth/tokens.py": old, "auth/web.py": web_old})
    bad = repo.commit("auth: hashed session tokens", {"auth/tokens.py": new, "auth/web.py": web_new,
                                                      "tests/test_web.py": test})
    repo.commit("docs", {"README.md": "auth\n"})
    report = _reported(repo, "from auth.web import cookie", "cookie('ann')", "auth")
    assert 'can only concatenate str (not "bytes") to str' in report.error, report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "followed by .decode()" in result.candidate.description, result.attempts
    assert "    return 'sid=' + session_token(user).decode() + '; Path=/'\n" in (repo.path / "auth/web.py").read_text()


async def test_a_standard_library_error_that_escapes_the_caller_s_handler_is_caught_there_too(
        tmp_path: Path) -> None:
    """`percent()` read rates with `float()`, whose ValueError `rates()` catches to skip a bad row; exact rates
    with `Decimal()` (the feature) raise `decimal.InvalidOperation` on "n/a", an ArithmeticError the handler
    does not catch. The error is named in full by the report; the handler catches it too, imported from its
    module (review 21's ledgerimport shape, dev data). `percent('n/a')` fails at every commit (another error
    before), so the repro is the caller's own call."""
    from agents.testing.regressions import RegressionCase
    from tests.integration.test_fix_engine import _investigate

    repo = _Repo(tmp_path / "repo", 131)
    old = "def percent(text):\n    return float(text.strip().rstrip('%')) / 100\n"
    new = ("from decimal import Decimal\n\n\ndef percent(text):\n"
           "    return Decimal(text.strip().rstrip('%')) / 100\n")
    table = ("from tax.parse import percent\n\n\ndef rates(rows):\n    out, skipped = {}, []\n"
             "    for region, text in rows:\n        try:\n            out[region] = percent(text)\n"
             "        except ValueError:\n            skipped.append(region)\n    return out, skipped\n")
    test = ("import unittest\nfrom decimal import Decimal\n\nfrom tax.parse import percent\n\n\n"
            "class Exact(unittest.TestCase):\n    def test_exact(self):\n"
            "        self.assertEqual(percent('7.7%'), Decimal('0.077'))\n")
    repo.commit("tax: rates", {"tax/__init__.py": "", "tax/parse.py": old, "tax/table.py": table,
                               "tests/__init__.py": ""})
    bad = repo.commit("tax: exact rates", {"tax/parse.py": new, "tests/test_parse.py": test})
    repo.commit("docs", {"README.md": "tax\n"})
    report = _reported(repo, "from tax.table import rates", "rates([('BE', '21%'), ('XX', 'n/a')])", "tax")
    assert report.error.startswith("decimal.InvalidOperation"), report.error
    out = await _investigate(RegressionCase(repo.path, "stdlib_error", 131, bad, report), tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and "InvalidOperation" in impl["summary"], (express["root_cause"], impl)
    texts = _shown(repo, express["branch"], "tax/table.py") + _shown(repo, express["branch"], "tax/parse.py")
    assert "from decimal import InvalidOperation" in texts or "from decimal import Decimal, InvalidOperation" in texts
    assert "Decimal(text.strip()" in _shown(repo, express["branch"], "tax/parse.py")  # the feature stays


def test_a_caller_that_changes_what_a_now_cached_function_returns_changes_a_copy(tmp_path: Path) -> None:
    """`menu_for()` parses the day's menu; memoised with `@functools.cache` (the feature: parse once), it hands
    every caller the same list, and `order()` removes the dish it serves from it: the second order of the day
    finds it gone (`ValueError: list.remove(x): x not in list`). The caller changes a copy (review 21's fxcache
    shape, dev data)."""
    repo = _Repo(tmp_path / "repo", 137)
    old = ("MENUS = {'mon': 'soup,pie,tart'}\n\n\ndef menu_for(day):\n    return MENUS[day].split(',')\n")
    new = ("import functools\n\nMENUS = {'mon': 'soup,pie,tart'}\n\n\n@functools.cache\ndef menu_for(day):\n"
           "    return MENUS[day].split(',')\n")
    kitchen = ("from canteen.menus import menu_for\n\n\ndef order(day, dish):\n    left = menu_for(day)\n"
               "    left.remove(dish)\n    return {'served': dish, 'also': left}\n\n\n"
               "def orders(day, dishes):\n    return [order(day, d) for d in dishes]\n")
    test = ("from canteen.menus import menu_for\n\n\ndef test_cached():\n"
            "    assert menu_for('mon') is menu_for('mon')\n")
    repo.commit("canteen: menus", {"canteen/__init__.py": "", "canteen/menus.py": old, "canteen/kitchen.py": kitchen})
    bad = repo.commit("canteen: parse a menu once", {"canteen/menus.py": new, "tests/test_menus.py": test})
    repo.commit("docs", {"README.md": "canteen\n"})
    report = _reported(repo, "from canteen.kitchen import orders", "orders('mon', ['pie', 'pie'])", "canteen")
    assert "x not in list" in report.error, report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:cached_copy", result.attempts
    text = (repo.path / "canteen/kitchen.py").read_text()
    assert "    left = copy.copy(menu_for(day))\n" in text and text.startswith("import copy\n"), text
    assert "@functools.cache" in (repo.path / "canteen/menus.py").read_text()  # the feature stays


async def test_values_that_never_passed_are_blamed_on_where_they_were_made_not_on_the_stack_s_authors(
        tmp_path: Path) -> None:
    """`load()` parsed `retries` as an int; counts with a unit (`3x`, the feature) made it hand plain numbers on as
    text, and `plan()` fails on `"2" + 1`. The crash function's values fail at every commit, and the report
    carries no caller's call, so nothing bisects: the commits that wrote `plan()` and the stack's lines never
    accepted such a value, while `load()`, called on a caller's line, made it: its last change is the suspect
    (review 21's uptimecfg shape, dev data)."""
    from agents.testing.regressions import RegressionCase
    from tests.integration.test_fix_engine import _investigate

    repo = _Repo(tmp_path / "repo", 139)
    config = ("def load(text):\n    key, _, value = text.partition('=')\n"
              "    return {key.strip(): int(value.strip())}\n")
    config_units = ("def count(raw):\n    return int(raw[:-1]) if raw.endswith('x') else raw\n\n\n"
                    "def load(text):\n    key, _, value = text.partition('=')\n"
                    "    return {key.strip(): count(value.strip())}\n")
    plan = "def plan(retries):\n    return list(range(retries + 1))\n"
    worker = ("from jobs.config import load\nfrom jobs.plan import plan\n\n\ndef run(text):\n"
              "    return plan(load(text)['retries'])\n")
    test = ("import unittest\n\nfrom jobs.config import load\n\n\nclass Units(unittest.TestCase):\n"
            "    def test_units(self):\n        self.assertEqual(load('retries = 3x'), {'retries': 3})\n")
    repo.commit("jobs: plans from a config", {"jobs/__init__.py": "", "jobs/config.py": config, "jobs/plan.py": plan,
                                              "jobs/worker.py": worker, "tests/__init__.py": ""})
    bad = repo.commit("jobs: counts with a unit", {"jobs/config.py": config_units, "tests/test_config.py": test})
    repo.commit("jobs: plan docstring", {"jobs/plan.py": '"""Attempt numbers."""\n\n\n' + plan})
    repo.commit("docs", {"README.md": "jobs\n"})
    report = _reported(repo, "from jobs.worker import run", "run('retries = 2')", "jobs")
    assert report.error.startswith("TypeError"), report.error
    context = report.context.model_dump()
    context.pop("calls", None)  # a publisher that sends the crash's own arguments only
    report = report.model_copy(update={"context": type(report.context).model_validate(context)})
    out = await _investigate(RegressionCase(repo.path, "origin", 139, bad, report), tmp_path)
    express = out["express"]
    assert express["suspect_commit"] == bad and express["suspect_method"] == "ranked", express["root_cause"]


def test_a_helper_that_now_returns_none_where_it_returned_its_null_object_gives_the_caller_that_object(
        tmp_path: Path) -> None:
    """`rate_for()` answers unknown zones with `STANDARD` (a module constant, its "nothing special" rate); zones
    suspended for a strike now return None (the feature, which its test asserts), and `quote()` reads
    `.per_kg` of it. The caller takes the constant the helper already uses for nothing (review 21's promocodes
    shape, dev data)."""
    repo = _Repo(tmp_path / "repo", 149)
    rates = ("from dataclasses import dataclass\n\n\n@dataclass(frozen=True)\nclass Rate:\n    per_kg: int\n\n\n"
             "STANDARD = Rate(5)\nRATES = {'EU': Rate(3), 'US': Rate(7)}\n")
    old = rates + "\n\ndef rate_for(zone):\n    return RATES.get(zone, STANDARD)\n"
    new = rates + ("SUSPENDED = {'US'}\n\n\ndef rate_for(zone):\n    if zone in SUSPENDED:\n        return None\n"
                   "    return RATES.get(zone, STANDARD)\n")
    quote = ("from ship.rates import rate_for\n\n\ndef quote(zone, kg):\n    rate = rate_for(zone)\n"
             "    return rate.per_kg * kg\n")
    test = ("from ship.rates import rate_for\n\n\ndef test_suspended():\n    assert rate_for('US') is None\n")
    repo.commit("ship: rates", {"ship/__init__.py": "", "ship/rates.py": old, "ship/quote.py": quote})
    bad = repo.commit("ship: suspended zones", {"ship/rates.py": new, "tests/test_rates.py": test})
    repo.commit("docs", {"README.md": "ship\n"})
    report = _reported(repo, "from ship.quote import quote", "quote('US', 2)", "ship")
    assert "'NoneType' object has no attribute 'per_kg'" in report.error, report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "takes STANDARD for the None" in result.candidate.description, \
        result.attempts
    text = (repo.path / "ship/quote.py").read_text()
    assert "    rate = (rate_for(zone) or STANDARD)\n" in text and "import rate_for, STANDARD" in text, text


def test_a_renamed_function_that_dropped_its_conversion_is_converted_back_at_the_call_the_commit_only_renamed(
        tmp_path: Path) -> None:
    """`took_s()` gave whole seconds (`// 1000` of milliseconds); renamed `took()` it gives milliseconds, for a new
    latency histogram (the feature). The commit renamed the call in `check()` but left it reading seconds:
    every request is now over its 30 s budget. The factor is the dropped `// 1000` of the renamed function, and
    only the call the commit merely renamed is converted, not the histogram's own (review 22's meterbill shape,
    dev data)."""
    repo = _Repo(tmp_path / "repo", 151)
    old = "def took_s(t0_ms, t1_ms):\n    return (t1_ms - t0_ms) // 1000\n"
    new = "def took(t0_ms, t1_ms):\n    return t1_ms - t0_ms\n"
    guard_old = ("from api import timing\n\nBUDGET_S = 30\n\n\nclass TooSlow(RuntimeError):\n    pass\n\n\n"
                 "def check(t0_ms, t1_ms):\n    spent = timing.took_s(t0_ms, t1_ms)\n    if spent > BUDGET_S:\n"
                 "        raise TooSlow(f'{spent} s over the {BUDGET_S} s budget')\n    return spent\n")
    guard_new = guard_old.replace("timing.took_s(", "timing.took(") + (
        "\n\ndef bucket(t0_ms, t1_ms):\n    return min(timing.took(t0_ms, t1_ms) // 100, 9)\n")
    test = ("from api.guard import bucket\n\n\ndef test_bucket():\n    assert bucket(0, 250) == 2\n")
    repo.commit("api: request budget", {"api/__init__.py": "", "api/timing.py": old, "api/guard.py": guard_old})
    bad = repo.commit("api: latency buckets in milliseconds", {"api/timing.py": new, "api/guard.py": guard_new,
                                                                "tests/test_guard.py": test})
    repo.commit("docs", {"README.md": "api\n"})
    report = _reported(repo, "from api.guard import check", "check(1000, 3500)", "api")
    assert "over the 30 s budget" in report.error, report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:unit", result.attempts
    text = (repo.path / "api/guard.py").read_text()
    assert "    spent = (timing.took(t0_ms, t1_ms) / 1000)\n" in text or \
        "    spent = (timing.took(t0_ms, t1_ms) // 1000)\n" in text, text
    assert "min(timing.took(t0_ms, t1_ms) // 100, 9)" in text  # the histogram's call untouched
