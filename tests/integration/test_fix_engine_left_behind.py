"""The fix engine on review 19's shapes (each now dev data): a normalisation dropped off a rewritten return, a
caller left behind when a list became a generator, a caller left behind when a parameter was added.

Real git histories, real test runs and the real reporter, as in `test_fix_engine_dropped.py`; each test fails
without its mechanism (`linepairs` pairing the one return left on each side, `templates.lazy_origins`,
`callsites.argument_appends`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.testing.regressions import _Repo
from tests.integration.test_fix_engine_dropped import _reported
from tests.support.fixengine import repro_bisect_repair


def test_a_call_dropped_off_a_return_rewritten_at_length_comes_back_on_the_new_one(tmp_path: Path) -> None:
    """`return name.replace(" ", "").lower()` becomes `return _JUNK.sub("", name)` (punctuation goes too, the
    feature) and loses `.lower()`: the two returns share too little to pair by likeness, but each is the one
    return its side has left (review 19: ibancheck's `.upper()`)."""
    repo = _Repo(tmp_path / "repo", 71)
    users = ('USERS = {"adalovelace": 1, "alanturing": 2}\n\n\ndef user_id(name):\n'
             "    return USERS[handle(name)]\n\n\n")
    old = users + ('def handle(name):\n    """Handles are lower case, without spaces."""\n'
                   '    return name.replace(" ", "").lower()\n')
    new = "import re\n\n" + users.replace('USERS = {', '_JUNK = re.compile(r"[\\s.,;:!?]+")\nUSERS = {') + (
        'def handle(name):\n    """Handles: no spaces or punctuation."""\n    return _JUNK.sub("", name)\n')
    test = ("from people.handles import handle\n\n\ndef test_punctuation():\n"
            "    assert handle('ada.lovelace') == 'adalovelace'\n")
    repo.commit("people: handles", {"people/__init__.py": "", "people/handles.py": old})
    bad = repo.commit("people: handles drop punctuation", {"people/handles.py": new, "tests/test_handles.py": test})
    repo.commit("docs", {"README.md": "people\n"})
    report = _reported(repo, "from people.handles import user_id", "user_id('Ada Lovelace')", "people")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None, result.attempts
    text = (repo.path / "people/handles.py").read_text()
    assert '    return _JUNK.sub("", name).lower()\n' in text, text


def test_a_caller_of_a_function_that_now_yields_makes_a_list_where_it_takes_the_value(tmp_path: Path) -> None:
    """`read_entries()` returned a list and now yields (it skips comment lines, the feature); `busiest()` in
    another module sorts what it got: 'generator' object has no attribute 'sort'. The value becomes a list
    where the caller assigns it, not on the crash line (review 19: telemetry)."""
    repo = _Repo(tmp_path / "repo", 73)
    old = ("def read_entries(lines):\n    out = []\n    for line in lines:\n        host, hits = line.split()\n"
           "        out.append((host, int(hits)))\n    return out\n")
    new = ("def read_entries(lines):\n    for line in lines:\n        if line.startswith('#'):\n"
           "            continue\n        host, hits = line.split()\n        yield host, int(hits)\n")
    report_mod = ("from weblog.entries import read_entries\n\n\ndef busiest(lines):\n"
                  "    entries = read_entries(lines)\n    entries.sort(key=lambda e: -e[1])\n"
                  "    return entries[0][0]\n")
    test = ("from weblog.entries import read_entries\n\n\ndef test_comments():\n"
            "    assert list(read_entries(['# header', 'a 3'])) == [('a', 3)]\n")
    repo.commit("weblog: entries", {"weblog/__init__.py": "", "weblog/entries.py": old, "weblog/report.py": report_mod})
    bad = repo.commit("weblog: skip comment lines", {"weblog/entries.py": new, "tests/test_entries.py": test})
    repo.commit("docs", {"README.md": "weblog\n"})
    report = _reported(repo, "from weblog.report import busiest", "busiest(['a 3', 'b 9'])", "weblog")
    assert "'generator' object has no attribute 'sort'" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:list", result.attempts
    assert "    entries = list(read_entries(lines))\n" in (repo.path / "weblog/report.py").read_text()
    assert "yield host" in (repo.path / "weblog/entries.py").read_text()


def test_a_caller_left_behind_by_a_new_parameter_passes_what_the_commit_passed_at_the_calls_it_updated(
        tmp_path: Path) -> None:
    """`send(to, subject, body)` gains a required `reply_to`; the commit gave its own calls `None` (and a new
    one an address) but left `notify()` behind: 'missing 1 required positional argument'. The left-behind call
    passes what the updated calls passed (review 19: stockroom's `reserve(..., None)`)."""
    repo = _Repo(tmp_path / "repo", 79)
    old = ("SENT = []\n\n\ndef send(to, subject, body):\n    SENT.append({'to': to, 'subject': subject})\n"
           "    return len(SENT)\n")
    new = ("SENT = []\n\n\ndef send(to, subject, body, reply_to):\n"
           "    SENT.append({'to': to, 'subject': subject, 'reply_to': reply_to or to})\n    return len(SENT)\n")
    notify = ("from mailer.smtp import send\n\n\ndef notify(user, event):\n"
              "    return send(user['email'], f'{event} happened', 'see the dashboard')\n")
    tests_old = ("from mailer.smtp import send\n\n\ndef test_send():\n    assert send('a@x', 's', 'b') >= 1\n\n\n"
                 "def test_send_again():\n    assert send('b@x', 's', 'b') >= 1\n")
    tests_new = tests_old.replace("'s', 'b')", "'s', 'b', None)") + (
        "\n\ndef test_reply_to():\n    send('c@x', 's', 'b', 'help@x')\n"
        "    from mailer.smtp import SENT\n    assert SENT[-1]['reply_to'] == 'help@x'\n")
    repo.commit("mailer: send", {"mailer/__init__.py": "", "mailer/smtp.py": old, "mailer/notify.py": notify,
                                 "tests/test_smtp.py": tests_old})
    bad = repo.commit("mailer: reply-to addresses", {"mailer/smtp.py": new, "tests/test_smtp.py": tests_new})
    repo.commit("docs", {"README.md": "mailer\n"})
    report = _reported(repo, "from mailer.notify import notify", "notify({'email': 'd@x'}, 'deploy')", "mailer")
    assert "missing 1 required positional argument: 'reply_to'" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "given None" in result.candidate.description, result.attempts
    assert "'see the dashboard', None)" in (repo.path / "mailer/notify.py").read_text()


def test_a_sort_moved_into_a_new_function_keeps_it_and_gets_back_only_the_order_it_lost(tmp_path: Path) -> None:
    """`sorted(eds, key=lambda e: e["year"], reverse=True)` (newest first, by text) becomes `by_year(eds)`, which
    sorts numerically itself but oldest first: the first edition in print is now an old one out of print. Putting
    the old `sorted(…)` back around `by_year(...)` would sort by text again, undoing the commit (review 19:
    plughost, claimed fixed that way); the order alone comes back, the numeric sort stays."""
    repo = _Repo(tmp_path / "repo", 83)
    head = ('class OutOfPrint(LookupError):\n    pass\n\n\n'
            'def current(eds):\n    """The newest edition."""\n    first = editions(eds)[0]\n'
            '    if not first["in_print"]:\n        raise OutOfPrint(first["year"])\n    return first["year"]\n\n\n')
    old = head + ('def editions(eds):\n    """Newest first."""\n'
                  '    return sorted(eds, key=lambda e: e["year"], reverse=True)\n')
    new = head + ('def by_year(eds):\n    """Oldest first, years compared as numbers."""\n'
                  '    return sorted(eds, key=lambda e: int(e["year"]))\n\n\n'
                  'def editions(eds):\n    """Newest first."""\n    return by_year(eds)\n')
    test = ("from books.editions import by_year\n\n\ndef test_numeric():\n"
            "    assert [e['year'] for e in by_year([{'year': '999'}, {'year': '1999'}])] == ['999', '1999']\n")
    repo.commit("books: editions", {"books/__init__.py": "", "books/editions.py": old})
    bad = repo.commit("books: compare years as numbers", {"books/editions.py": new, "tests/test_editions.py": test})
    repo.commit("docs", {"README.md": "books\n"})
    report = _reported(repo, "from books.editions import current",
                       "current([{'year': '1950', 'in_print': False}, {'year': '2004', 'in_print': True}])", "books")
    assert "OutOfPrint" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    text = (repo.path / "books/editions.py").read_text()
    assert 'key=lambda e: e["year"], reverse=True)' not in text, text  # the text sort did not come back
    assert result.candidate is not None and "    return by_year(eds)[::-1]\n" in text, result.attempts


def test_a_lookup_that_lets_a_key_error_out_raises_its_own_refusal_again_for_the_callers_handler(
        tmp_path: Path) -> None:
    """`find_room` refused an unknown number with `UnknownRoom`, which `book()` turns into a waiting-list
    entry; rewritten to also take `"2-14"` codes (the feature) it indexes the dict, renames its parameter, and
    a `KeyError` escapes the caller's handler. The crash line goes in a `try` that raises the function's old
    refusal, the parameter renamed (review 19: lending's `MemberNotFound`)."""
    repo = _Repo(tmp_path / "repo", 89)
    rooms = ("class UnknownRoom(LookupError):\n    pass\n\n\n"
             "def find_room(rooms, number):\n    room = rooms.get(str(number))\n    if room is None:\n"
             "        raise UnknownRoom(number)\n    return room\n")
    new = ("class UnknownRoom(LookupError):\n    pass\n\n\n"
           'def find_room(rooms, code):\n    """A room by number, or by a `floor-number` code."""\n'
           '    code = str(code)\n    if "-" in code:\n        floor, number = code.split("-", 1)\n'
           "        room = rooms.get(number)\n        if room is None or room['floor'] != int(floor):\n"
           "            raise UnknownRoom(code)\n        return room\n    return rooms[code]\n")
    book = ("from hotel.rooms import UnknownRoom, find_room\n\n\ndef book(rooms, number, guest):\n    try:\n"
            "        room = find_room(rooms, number)\n    except UnknownRoom:\n"
            "        return {'guest': guest, 'waiting': True}\n    return {'guest': guest, 'room': room['floor']}\n")
    test = ("from hotel.rooms import find_room\n\n\ndef test_codes():\n"
            "    assert find_room({'14': {'floor': 2}}, '2-14') == {'floor': 2}\n")
    repo.commit("hotel: rooms", {"hotel/__init__.py": "", "hotel/rooms.py": rooms, "hotel/booking.py": book})
    bad = repo.commit("hotel: floor-number codes", {"hotel/rooms.py": new, "tests/test_rooms.py": test})
    repo.commit("docs", {"README.md": "hotel\n"})
    report = _reported(repo, "from hotel.booking import book", "book({'14': {'floor': 2}}, 99, 'Ann')", "hotel")
    assert report.error.startswith("KeyError")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:old_raise", result.attempts
    text = (repo.path / "hotel/rooms.py").read_text()
    # the whole body in the `try` (the refusal back on every path), or the crash line alone
    assert "    except KeyError:\n        raise UnknownRoom(code) from None\n" in text, text
    namespace: dict = {}
    exec(compile(text, "rooms.py", "exec"), namespace)
    try:
        namespace["find_room"]({"14": {"floor": 2}}, 99)
    except namespace["UnknownRoom"]:
        pass
    else:
        raise AssertionError(text)
    assert namespace["find_room"]({"14": {"floor": 2}}, "2-14") == {"floor": 2}  # the feature kept


def test_a_caller_left_reading_the_old_unit_of_a_result_is_put_back_in_it(tmp_path: Path) -> None:
    """`parked()` returned hours (`/ 3600`); billing by the minute (the feature) made it whole minutes
    (`ceil(… / 60)`), and `fee()` in another module still multiplies it by the hourly rate: 60 times the fee,
    over the daily cap. The factor is read from the commit (3600 / 60) and the caller's call is put back in
    hours (review 19: payroll's minutes summed as hours)."""
    repo = _Repo(tmp_path / "repo", 97)
    old = ("from datetime import datetime\n\n\ndef parked(ticket):\n    \"\"\"Hours parked.\"\"\"\n"
           "    t0, t1 = datetime.fromisoformat(ticket['in']), datetime.fromisoformat(ticket['out'])\n"
           "    return (t1 - t0).total_seconds() / 3600\n")
    new = ("import math\nfrom datetime import datetime\n\n\ndef parked(ticket):\n"
           "    \"\"\"Whole minutes parked, started minutes counted.\"\"\"\n"
           "    t0, t1 = datetime.fromisoformat(ticket['in']), datetime.fromisoformat(ticket['out'])\n"
           "    return math.ceil((t1 - t0).total_seconds() / 60)\n")
    fee = ("from garage.tickets import parked\n\nHOURLY, DAILY_CAP = 3.0, 30.0\n\n\nclass FeeError(ValueError):\n"
           "    pass\n\n\ndef fee(ticket):\n    amount = round(HOURLY * parked(ticket), 2)\n"
           "    if amount > DAILY_CAP:\n"
           "        raise FeeError(f'fee {amount} above the daily cap')\n    return amount\n")
    test = ("from garage.tickets import parked\n\n\ndef test_minutes():\n"
            "    assert parked({'in': '2026-01-01T10:00:00', 'out': '2026-01-01T10:01:30'}) == 2\n")
    repo.commit("garage: tickets and fees", {"garage/__init__.py": "", "garage/tickets.py": old,
                                             "garage/fees.py": fee})
    bad = repo.commit("garage: bill by the started minute", {"garage/tickets.py": new, "tests/test_tickets.py": test})
    repo.commit("docs", {"README.md": "garage\n"})
    report = _reported(repo, "from garage.fees import fee",
                       "fee({'in': '2026-01-01T10:00:00', 'out': '2026-01-01T12:00:00'})", "garage")
    assert "above the daily cap" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:unit", result.attempts
    assert "    amount = round(HOURLY * (parked(ticket) / 60), 2)\n" in (repo.path / "garage/fees.py").read_text()
    assert "math.ceil(" in (repo.path / "garage/tickets.py").read_text()


def test_a_patch_that_passes_but_changes_what_production_s_call_returns_is_named_not_claimed(tmp_path: Path) -> None:
    """Review 20 (rotaswap): `can_swap(rota, a, b, day)` became `can_swap(rota, day, a, b)` and the caller kept the
    old order. `rota[day]` -> `rota.get(day, {})` stops the KeyError and the suite passes, but the swap the call
    allowed at the last good commit (True) is now refused (False): every request would be. Nothing gives the old
    value back here, so nothing is claimed; the reason names the patch and both values."""
    repo = _Repo(tmp_path / "repo", 73)
    old = ("def can_swap(rota, a, b, day):\n"
           "    shifts = rota[day]\n"
           "    return shifts.get(a, 'OFF') != 'OFF' and shifts.get(b, 'OFF') != 'OFF'\n")
    new = ("MIN_REST = 11\n\n\ndef can_swap(rota, day, a, b):\n"
           "    shifts = rota[day]\n"
           "    return shifts.get(a, 'OFF') != 'OFF' and shifts.get(b, 'OFF') != 'OFF'\n\n\n"
           "def rested(hours):\n    return hours >= MIN_REST\n")
    caller = ("from rota.swap import can_swap\n\n\ndef process(rota, a, b, day):\n"
              "    return 'granted' if can_swap(rota, a, b, day) else 'refused'\n")
    test = ("from rota.swap import can_swap, rested\n\n\n"
            "def test_rest():\n    assert rested(12) and not rested(8)\n\n\n"
            "def test_swap():\n    assert can_swap({'d1': {'x': 'E', 'y': 'L'}}, 'd1', 'x', 'y')\n")
    repo.commit("rota: swaps", {"rota/__init__.py": "", "rota/swap.py": old, "rota/requests.py": caller})
    bad = repo.commit("rota: minimum rest", {"rota/swap.py": new, "tests/test_swap.py": test})
    repo.commit("docs", {"README.md": "rota\n"})
    report = _reported(repo, "from rota.requests import process",
                       "process({'d1': {'n04': 'E', 'n07': 'L'}}, 'n04', 'n07', 'd1')", "rota")
    assert "KeyError" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is None, result.candidate
    assert "change what production's call returns" in result.reason and "returned True" in result.reason, result.reason
    assert "(it returns False)" in result.reason and "(not claimed)" in result.reason, result.reason


def test_an_undo_that_leaves_the_suspect_s_new_function_to_its_other_callers_keeps_the_feature(tmp_path: Path) -> None:
    """Review 20 (tabsplit): `split_evenly` went through the new `split_by_weight`, whose rounding loses a cent.
    Undoing that one line gives the even split its exact arithmetic back; `split_by_weight` stays, called by the
    weighted expenses of another module, so the fix deletes no feature (it was claimed with a false "NOTE: it
    deletes what the suspect commit added") and, the value being the one of the last good commit, the
    regression test asserts it."""
    repo = _Repo(tmp_path / "repo", 79)
    old = ("def split_evenly(total, n):\n    base, spare = divmod(total, n)\n"
           "    return [base + 1] * spare + [base] * (n - spare)\n")
    new = ("def split_by_weight(total, weights):\n    whole = sum(weights)\n"
           "    return [round(total * w / whole) for w in weights]\n\n\n"
           "def split_evenly(total, n):\n    return split_by_weight(total, [1] * n)\n")
    ledger = ("from tabs.money import split_evenly\n\n\ndef post(total, people):\n"
              "    shares = split_evenly(total, len(people))\n"
              "    if sum(shares) != total:\n"
              "        raise ValueError(f'shares add up to {sum(shares)}, expense is {total}')\n"
              "    return dict(zip(people, shares))\n")
    weighted = ("from tabs.money import split_by_weight\n\n\ndef post_weighted(total, weights):\n"
                "    return split_by_weight(total, list(weights.values()))\n")
    test = ("from tabs.money import split_by_weight\nfrom tabs.weighted import post_weighted\n\n\n"
            "def test_weights():\n    assert split_by_weight(100, [1, 3]) == [25, 75]\n"
            "    assert post_weighted(100, {'a': 1, 'b': 1}) == [50, 50]\n")
    repo.commit("tabs: even splits", {"tabs/__init__.py": "", "tabs/money.py": old, "tabs/ledger.py": ledger})
    bad = repo.commit("tabs: weighted expenses", {"tabs/money.py": new, "tabs/weighted.py": weighted,
                                                  "tests/test_weights.py": test})
    repo.commit("docs", {"README.md": "tabs\n"})
    report = _reported(repo, "from tabs.ledger import post", "post(4580, ['ana', 'ben', 'caro'])", "tabs")
    assert "4581" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and not result.candidate.drops_added, result.attempts
    assert "def split_by_weight" in (repo.path / "tabs/money.py").read_text()
    assert result.returned == "{'ana': 1527, 'ben': 1527, 'caro': 1526}", result.returned


async def test_a_ranked_suspect_s_fix_says_most_likely_and_why_nothing_was_bisected(tmp_path: Path) -> None:
    """Review 20 (berthing): the commit that added `draft_m` also turned `>` into `>=`; production's call passes
    `draft_m=`, which no older commit accepts, so the call fails everywhere and nothing is bisected. The undo of
    `>=` is claimed (it restores what broke, at the suspect's own line), and the Result says the suspect is ranked
    ("most likely"), why no bisect confirmed it, and why the fix has no regression test."""
    from agents.testing.regressions import RegressionCase
    from tests.integration.test_fix_engine import _investigate

    repo = _Repo(tmp_path / "repo", 83)
    old = ("BERTHS = [10.0, 12.0]\n\n\nclass NoBerth(LookupError):\n    pass\n\n\n"
           "def allocate(length_m):\n    for berth in BERTHS:\n        if berth >= length_m:\n"
           "            return berth\n    raise NoBerth(f'no free berth for a {length_m} m boat')\n")
    new = ("BERTHS = [10.0, 12.0]\nDEPTHS = {10.0: 1.5, 12.0: 2.5}\n\n\n"
           "class NoBerth(LookupError):\n    pass\n\n\n"
           "def allocate(length_m, draft_m=0.0):\n    for berth in BERTHS:\n"
           "        if berth > length_m and DEPTHS[berth] >= draft_m:\n"
           "            return berth\n"
           "    raise NoBerth(f'no free berth for a {length_m} m boat drawing {draft_m} m')\n")
    test = ("import unittest\n\nfrom marina.allocate import allocate\n\n\nclass Draft(unittest.TestCase):\n"
            "    def test_draft(self):\n        self.assertEqual(allocate(9.0, draft_m=2.0), 12.0)\n")
    repo.commit("marina: berths", {"marina/__init__.py": "", "marina/allocate.py": old, "tests/__init__.py": ""})
    bad = repo.commit("marina: check draft against berth depth", {"marina/allocate.py": new,
                                                                  "tests/test_allocate.py": test})
    repo.commit("docs", {"README.md": "marina\n"})
    report = _reported(repo, "from marina.allocate import allocate", "allocate(12.0, draft_m=1.9)", "marina")
    out = await _investigate(RegressionCase(repo.path, "ranked", 83, bad, report), tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and express["suspect_method"] == "ranked", (express, impl)
    assert "fail the call at every commit that runs it) most likely introduced" in express["root_cause"], express
    assert "**Regression test.** none: the report's values fail the call at every commit" in express["summary"]
    assert impl["regression_test"] is None and impl["regression_test_why_not"], impl


_COORDS_OLD = '''import re

_HMS = re.compile(r"(\\\\d+)[h:](\\\\d+)[m:](\\\\d+(?:\\\\.\\\\d+)?)s?$")


class CoordinateError(ValueError):
    pass


def parse_ra(text):
    m = _HMS.match(text.strip())
    if not m:
        raise CoordinateError(f"cannot read right ascension {text!r}")
    h, mi, s = (float(g) for g in m.groups())
    return (h + mi / 60 + s / 3600) * 15


def parse_dec(text):
    m = _HMS.match(text.strip().lstrip("+-"))
    if not m:
        raise CoordinateError(f"cannot read declination {text!r}")
    d, mi, s = (float(g) for g in m.groups())
    return (-1 if text.strip().startswith("-") else 1) * (d + mi / 60 + s / 3600)
'''

_COORDS_NEW = '''import re

_SEP = re.compile(r"[hdms:]+")


class CoordinateError(ValueError):
    pass


def _fields(text):
    return [f for f in _SEP.split(text.strip().lstrip("+-")) if f]


def parse_ra(text):
    fields = _fields(text)
    if len(fields) == 1:
        return float(fields[0])
    h, mi, s = (float(f) for f in fields)
    return (h + mi / 60 + s / 3600) * 15


def parse_dec(text):
    fields = _fields(text)
    sign = -1 if text.strip().startswith("-") else 1
    if len(fields) == 1:
        return sign * float(fields[0])
    d, mi, s = (float(f) for f in fields)
    return sign * (d + mi / 60 + s / 3600)
'''


async def test_functions_that_let_a_builtin_error_out_where_they_refused_raise_their_refusals_again(
        tmp_path: Path) -> None:
    """Review 20 (skyplan): reading decimal degrees (the feature), `parse_ra` and `parse_dec` stopped raising
    `CoordinateError` for unreadable text: `float('TBD')` lets a ValueError out past the caller's `except
    CoordinateError` (skip the row). Both functions get their refusal back around their whole bodies (the
    contract on every path, the sibling too), and the fix is claimed though production's call now returns more
    than at the last good commit (a decimal-degree row is read now): the patch restores what the suspect removed,
    so the difference is taken for the feature, and the summary says so."""
    from agents.testing.regressions import RegressionCase
    from tests.integration.test_fix_engine import _investigate

    repo = _Repo(tmp_path / "repo", 89)
    targets = ("from sky.coords import CoordinateError, parse_dec, parse_ra\n\n\ndef load(rows):\n"
               "    kept, skipped = [], []\n    for name, ra, dec in rows:\n        try:\n"
               "            kept.append((name, round(parse_ra(ra), 3), round(parse_dec(dec), 3)))\n"
               "        except CoordinateError:\n            skipped.append(name)\n    return kept, skipped\n")
    test = ("import unittest\n\nfrom sky.coords import parse_dec, parse_ra\n\n\nclass Decimal(unittest.TestCase):\n"
            "    def test_decimal(self):\n        self.assertEqual(parse_ra('83.5'), 83.5)\n"
            "        self.assertEqual(parse_dec('-5.25'), -5.25)\n")
    repo.commit("sky: coordinates", {"sky/__init__.py": "", "sky/coords.py": _COORDS_OLD, "sky/targets.py": targets,
                                     "tests/__init__.py": ""})
    bad = repo.commit("sky: decimal degrees", {"sky/coords.py": _COORDS_NEW, "tests/test_decimal.py": test})
    repo.commit("docs", {"README.md": "sky\n"})
    rows = [["M33", "01h33m50s", "30d39m36s"], ["comet", "TBD", "TBD"], ["M31", "10.5", "41.25"]]
    report = _reported(repo, "from sky.targets import load", f"load({rows!r})", "sky")
    assert "could not convert string to float" in report.error
    out = await _investigate(RegressionCase(repo.path, "old_raise", 89, bad, report), tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed", (express, impl)
    assert "and its siblings raise their old refusals again" in impl["summary"], impl["summary"]
    assert "NOTE: load(…) returned" in impl["summary"] and "check that the difference is the suspect's feature" \
        in impl["summary"], impl["summary"]
    fixed = subprocess.run(["git", "show", f"{express['branch']}:sky/coords.py"], cwd=repo.path, capture_output=True,
                           text=True, check=True).stdout
    namespace: dict = {}
    exec(compile(fixed, "coords.py", "exec"), namespace)
    for parse in ("parse_ra", "parse_dec"):
        for text in ("TBD", "05h34m"):  # every unreadable text, not only production's
            try:
                namespace[parse](text)
            except namespace["CoordinateError"]:
                continue
            raise AssertionError(f"{parse}({text!r}) did not refuse: {fixed}")
