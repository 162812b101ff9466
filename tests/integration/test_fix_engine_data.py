"""The fix engine where data changed shape or type: a payload format a consumer missed, a value read as text.

Real git histories and real test runs, as in `test_fix_engine.py`; each test fails without its mechanism.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.bisect import bisect
from agents.findrepro import find_repro
from agents.testing.regressions import _Repo, _report, _traceback
from tests.integration.test_fix_engine import _repair_from

_EVENT_V2 = ('EVENT = {"id": "ev-17", "title": "Quarterly planning", "start": "2026-03-02T09:00", '
             '"room": "Aurora"}\n')
_EVENT_V3 = ('EVENT = {"id": "ev-17", "title": "Quarterly planning", "slot": {"start": "2026-03-02T09:00", '
             '"minutes": 90}, "place": {"room": "Aurora", "floor": 3}}\n')
_CRASH = "from ev.ics import vevent\n" + _EVENT_V3 + "vevent(EVENT)\n"  # a v3 payload reaches the export
_CONFTEST = "import pytest\n\n{event}\n\n@pytest.fixture\ndef event():\n    return dict(EVENT)\n"
_AGENDA_V2 = "def line(event):\n    return f'{event[\"start\"]} {event[\"title\"]} ({event[\"room\"]})'\n"
_AGENDA_V3 = ("def line(event):\n    place = event['place']\n"
              "    return (f'{event[\"slot\"][\"start\"]} {event[\"title\"]} '\n"
              "            f'({place[\"room\"]}, floor {place[\"floor\"]})')\n")
_ICS = ("def vevent(event):\n    start = event['start'].replace('-', '').replace(':', '')\n"
        "    lines = ['BEGIN:VEVENT', f\"UID:{event['id']}\", f\"SUMMARY:{event['title']}\", f'DTSTART:{start}00',\n"
        "             f\"LOCATION:{event['room']}\", 'END:VEVENT']\n    return '\\n'.join(lines)\n")


def _calendar(repo: _Repo) -> tuple[str, str, str]:
    """Agenda lines, then an iCalendar export (a consumer of the event payload), then calendar API v3:
    the payload nests `start` under `slot` and `room` under `place`; the agenda and the fixture follow,
    the export is missed. Returns (the export's commit, the format change, the commit after it)."""
    files = {"ev/__init__.py": "", "ev/agenda.py": _AGENDA_V2,
             "tests/conftest.py": _CONFTEST.format(event=_EVENT_V2),
             "tests/test_agenda.py": "from ev.agenda import line\n\n\ndef test_line(event):\n"
                                     "    assert line(event) == '2026-03-02T09:00 Quarterly planning (Aurora)'\n"}
    repo.commit("ev: agenda lines", files)
    files |= {"ev/ics.py": _ICS,
              "tests/test_ics.py": "from ev.ics import vevent\n\n\ndef test_vevent(event):\n"
                                   "    text = vevent(event)\n    assert 'DTSTART:20260302T090000' in text\n"
                                   "    assert 'LOCATION:Aurora' in text\n"}
    export = repo.commit("ev: iCalendar export", files)
    files |= {"ev/agenda.py": _AGENDA_V3, "tests/conftest.py": _CONFTEST.format(event=_EVENT_V3),
              "tests/test_agenda.py": "from ev.agenda import line\n\n\ndef test_line(event):\n    assert line(event) "
                                      "== '2026-03-02T09:00 Quarterly planning (Aurora, floor 3)'\n"}
    v3 = repo.commit("calendar API v3: slots and places", files)
    later = repo.commit("readme", {**files, "README.md": "# ev\n"})
    return export, v3, later


def test_bisect_blames_the_commit_that_moved_the_data_not_the_consumer_written_for_the_old_data(
        tmp_path: Path) -> None:
    """HEAD's test data (v3) breaks the export on every commit that has it, so HEAD's test first fails at
    the export's own commit; that commit's own test passes there. The suspect is the commit after it whose
    own test fails: the format change."""
    repo = _Repo(tmp_path / "repo", 21)
    export, v3, _ = _calendar(repo)
    report = _report(repo.path, "ev", _traceback(repo.path, _CRASH))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == v3, result.to_dict()
    assert result.oracle == "each commit's own test of that id (newer data)"
    assert export[:10] in result.reason and result.candidates == [v3, export]


def test_a_consumer_the_format_change_missed_reads_the_paths_the_data_moved_to(tmp_path: Path) -> None:
    """The fixture's values moved to new key paths (`start` -> `slot.start`, `room` -> `place.room`); the
    export reads both at the old ones. Rewriting the crash line alone still fails on the room; every read
    of a moved path in the file passes."""
    repo = _Repo(tmp_path / "repo", 22)
    export, v3, _ = _calendar(repo)
    result = _repair_from(repo, _CRASH, v3, export)
    assert result.candidate is not None and result.candidate.unit == "template:data_paths", result.attempts
    ics = (repo.path / "ev/ics.py").read_text()
    assert "start = event['slot']['start'].replace('-', '')" in ics
    assert "f\"LOCATION:{event['place']['room']}\"" in ics and "event['id']" in ics


def test_a_value_now_read_as_text_is_converted_where_it_meets_a_number(tmp_path: Path) -> None:
    """Quotas move to an INI file; configparser hands back text and `DAILY - used` raises TypeError naming
    'str' and 'int'. The operand of the failing subtraction that is text becomes an int; the new file and
    the burst limit it brought stay."""
    repo = _Repo(tmp_path / "repo", 23)
    limits = "DAILY = 500\n\n\ndef remaining(used):\n    return DAILY - used\n"
    test = "from quota.limits import remaining\n\n\ndef test_remaining():\n    assert remaining(120) == 380\n"
    files = {"quota/__init__.py": "", "quota/limits.py": limits, "tests/test_limits.py": test}
    good = repo.commit("quota: daily limit", files)
    files |= {"quota/limits.py": "import configparser\nfrom pathlib import Path\n\n"
                                 "_CONFIG = configparser.ConfigParser()\n"
                                 "_CONFIG.read(Path(__file__).with_name('limits.ini'))\n"
                                 "DAILY = _CONFIG['limits']['daily']\nBURST = _CONFIG['limits'].getint('burst')\n\n\n"
                                 "def remaining(used):\n    return DAILY - used\n\n\n"
                                 "def burst_allowed(n):\n    return n <= BURST\n",
              "quota/limits.ini": "[limits]\ndaily = 500\nburst = 40\n",
              "tests/test_burst.py": "from quota.limits import burst_allowed\n\n\ndef test_burst():\n"
                                     "    assert burst_allowed(40) and not burst_allowed(41)\n"}
    regression = repo.commit("quota: limits from limits.ini", files)
    result = _repair_from(repo, "from quota.limits import remaining; remaining(7)", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:coerce", result.attempts
    text = (repo.path / "quota/limits.py").read_text()
    assert "    return int(DAILY) - used\n" in text and "limits.ini" in text


def test_naive_and_aware_datetimes_meet_as_one_kind(tmp_path: Path) -> None:
    """Tokens now carry an aware issue time (the audit line shows its offset); expiry still subtracts it from
    a naive `now` a caller passes. Undoing the aware time breaks the audit; both operands read as aware
    (a naive one as UTC) keep it."""
    repo = _Repo(tmp_path / "repo", 24)
    tokens = ("from datetime import datetime, timedelta\n\nTTL = timedelta(minutes=30)\n\n\nclass Token:\n"
              "    def __init__(self, user, issued=None):\n        self.user = user\n"
              "        self.issued = issued or datetime.utcnow()\n\n\n"
              "def expired(token, now):\n    return now - token.issued > TTL\n")
    test = ("from datetime import datetime\n\nfrom auth.tokens import Token, expired\n\n\n"
            "def test_expired():\n"
            "    assert expired(Token('ann', datetime(2026, 1, 1, 9)), datetime(2026, 1, 1, 9, 45))\n\n\n"
            "def test_fresh():\n    assert not expired(Token('ann'), datetime.utcnow())\n")
    files = {"auth/__init__.py": "", "auth/tokens.py": tokens, "tests/test_tokens.py": test}
    good = repo.commit("auth: tokens", files)
    files |= {"auth/tokens.py": tokens.replace("import datetime, timedelta", "import datetime, timedelta, timezone")
              .replace("datetime.utcnow()", "datetime.now(timezone.utc)")
              .replace("\n\n\ndef expired", "\n\n    def audit(self):\n"
                       "        return f'{self.user} {self.issued.isoformat()}'\n\n\ndef expired"),
              "tests/test_audit.py": "from auth.tokens import Token\n\n\ndef test_audit():\n"
                                     "    assert Token('ann').audit().endswith('+00:00')\n"}
    regression = repo.commit("tokens: audit lines with the issue time's offset", files)
    result = _repair_from(repo, "from datetime import datetime\nfrom auth.tokens import Token, expired\n"
                                "expired(Token('bob'), datetime.utcnow())", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:coerce", result.attempts
    assert "datetime.now(timezone.utc)" in (repo.path / "auth/tokens.py").read_text()
    check = ("from datetime import datetime, timedelta, timezone\nfrom auth.tokens import Token, expired\n"
             "hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)\n"
             "print(expired(Token('a'), datetime.utcnow()), expired(Token('b', hour_ago), datetime.utcnow()))\n")
    out = subprocess.run([sys.executable, "-c", check], cwd=repo.path, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "True"], out.stderr  # a naive `now` is read as UTC


_RATES_V1 = ('RATES = {"EUR": "1.00", "USD": "1.08"}\n\n\n'
             "def parse_rate(text):\n    units, cents = text.split('.')\n    return int(units) + int(cents) / 100\n\n\n"
             "class Converter:\n    def __init__(self, rates=RATES):\n        self.rates = rates\n\n"
             "    def convert(self, amount, currency):\n"
             "        return round(amount * parse_rate(self.rates[currency]), 2)\n")


def test_bisect_blames_the_commit_that_wrote_a_bad_value_the_crash_path_was_given(tmp_path: Path) -> None:
    """A rate typed with a comma (`"0,86"`) in a data table; a later commit rewrites the table's lines (so
    undoing the typo's commit on HEAD conflicts) and adds the function the test that reads that rate calls,
    which comes last (so HEAD's test cannot run before that commit, and no commit's own suite fails). The
    crash path's only module-level call, `parse_rate('0,86')`, fails on every commit, so its argument carried
    the error: the suspect is the commit that wrote it, not the root commit the replayed call first fails on."""
    repo = _Repo(tmp_path / "repo", 23)
    tests = "from fx.rates import Converter\n\n\ndef test_usd():\n    assert Converter().convert(100, 'USD') == 108.0\n"
    repo.commit("fx: rates", {"fx/__init__.py": "", "fx/rates.py": _RATES_V1, "tests/test_rates.py": tests})
    typo = repo.commit("fx: pound and franc", {"fx/rates.py": _RATES_V1.replace(
        '"USD": "1.08"}', '"USD": "1.08", "GBP": "0,86", "CHF": "0.97"}')})
    table = _RATES_V1.replace('RATES = {"EUR": "1.00", "USD": "1.08"}', 'RATES = {\n    "EUR": "1.00",\n    '
                              '"USD": "1.08",\n    "GBP": "0,86",\n    "CHF": "0.97",\n}')
    many = ("\n    def convert_many(self, amount, currencies):\n"
            "        return [self.convert(amount, c) for c in currencies]\n")
    repo.commit("fx: one rate per line, several currencies at once", {"fx/rates.py": table + many})
    repo.commit("fx: pound test", {"tests/test_rates.py": tests + "\n\ndef test_gbp():\n"
                                   "    assert Converter().convert_many(100, ['GBP']) == [86.0]\n"})
    crash = "from fx.rates import Converter\nConverter().convert_many(5, ['GBP'])\n"
    report = _report(repo.path, "fx", _traceback(repo.path, crash))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == typo, result.to_dict()
    assert result.oracle == "the commit that wrote the crash path's argument (git log -S)"
    assert "'0,86'" in result.reason and "fx/rates.py" in result.reason


_ITEM = ("class Item:\n    def __init__(self, sku, qty):\n        self.sku, self.qty, self.frozen = sku, qty, False\n"
         "\n    def __repr__(self):\n        return f'Item({self.sku!r}, {self.qty})'\n")
_PICK_V1 = ("def best(items, qty):\n    fits = [i for i in items if i.qty >= qty and not i.frozen]\n"
            "    return max(fits, key=lambda i: i.qty) if fits else None\n")
_PICK_V2 = ("def best(items, qty):\n    for item in sorted(items, key=lambda i: -i.qty):\n"
            "        if item.qty >= qty and not item.frozen:\n            chosen = item\n            break\n"
            "    return chosen\n")
_ORDERS = ("from shop.pick import best\n\n\ndef pick_all(lines, items):\n"
           "    return [(b.sku if (b := best(items, q)) else None) for q in lines]\n")


def test_a_first_bad_commit_off_the_traceback_gives_way_to_the_last_change_of_the_crashing_file(
        tmp_path: Path) -> None:
    """`best()` is rewritten as a loop that leaves `chosen` unbound when nothing fits; the commit after it
    adds stock freezing in another module, and the test that freezes everything (and so walks the bug) comes
    last; a later commit rewrites the loop's ranking (undoing the rewrite on HEAD conflicts). HEAD's test
    first runs, and fails, on the freezing commit, which changed no file on the traceback: the suspect is
    the last commit before it that changed the file the error is raised in."""
    repo = _Repo(tmp_path / "repo", 29)
    tests = ("from shop.item import Item\nfrom shop.orders import pick_all\n\n\ndef test_picks():\n"
             "    assert pick_all([3], [Item('a', 5), Item('b', 9)]) == ['b']\n")
    repo.commit("shop: picking", {"shop/__init__.py": "", "shop/item.py": _ITEM, "shop/pick.py": _PICK_V1,
                                  "shop/orders.py": _ORDERS, "tests/test_orders.py": tests})
    loop = repo.commit("pick: fullest first, as a loop", {"shop/pick.py": _PICK_V2})
    freeze = repo.commit("stock: freeze an item during a count", {
        "shop/stock.py": "def freeze(item):\n    item.frozen = True\n    return item\n"})
    repo.commit("pick: ties go to the lower sku", {"shop/pick.py": _PICK_V2.replace(
        "key=lambda i: -i.qty", "key=lambda i: (-i.qty, i.sku)")})
    repo.commit("orders: all frozen", {"tests/test_orders.py": tests.replace(
        "from shop.orders import pick_all\n", "from shop.orders import pick_all\nfrom shop.stock import freeze\n")
        + "\n\ndef test_all_frozen():\n    assert pick_all([1], [freeze(Item('a', 5))]) == [None]\n"})
    crash = ("from shop.item import Item\nfrom shop.orders import pick_all\nfrom shop.stock import freeze\n"
             "pick_all([1], [freeze(Item('a', 5))])\n")
    report = _report(repo.path, "shop", _traceback(repo.path, crash))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == loop, result.to_dict()
    assert result.oracle == "the last commit before it to change the file the error is raised in"
    assert result.candidates == [loop, freeze] and "shop/pick.py" in result.reason


_LIMITS = ("MAX_WAIT_S = 60\n\n\nclass Poller:\n    def __init__(self, every):\n"
           "        if not 0 < every <= MAX_WAIT_S:\n"
           "            raise ValueError(f'every must be in (0, {MAX_WAIT_S}] s, got {every}')\n"
           "        self.every = every\n")
_KNOBS_S = "DEFAULTS = {'every': 30, 'jobs': 2}\n\n\ndef knobs(env):\n    return {**DEFAULTS, **env}\n"
_KNOBS_MS = "DEFAULTS = {'every': 30_000, 'jobs': 2}\n\n\ndef knobs(env):\n    return {**DEFAULTS, **env}\n"
_WATCH = ("from mon.knobs import knobs\nfrom mon.limits import Poller\n\n\ndef watcher(env):\n"
          "    return Poller(knobs(env)['every'])\n")


def test_a_first_bad_commit_off_the_traceback_that_undoing_on_head_clears_stays_the_suspect(
        tmp_path: Path) -> None:
    """Defaults move to milliseconds in a module off the traceback (the crash is the limit check in
    limits.py, reached through watch.py); the test that walks it comes last, so older commits are judged by
    the call it made. Undoing the defaults commit on HEAD makes HEAD's test pass: that confirms bisect's
    first bad commit, and the older commit that last changed limits.py is not blamed instead."""
    repo = _Repo(tmp_path / "repo", 37)
    base = {"mon/__init__.py": "", "mon/limits.py": _LIMITS, "mon/knobs.py": _KNOBS_S,
            "tests/test_limits.py": "import pytest\n\nfrom mon.limits import Poller\n\n\ndef test_rejects_slow():\n"
                                    "    with pytest.raises(ValueError):\n        Poller(600)\n"}
    repo.commit("mon: limits and knobs", base)
    repo.commit("mon: watcher", {"mon/watch.py": _WATCH})
    ms = repo.commit("knobs: milliseconds, like the scheduler", {"mon/knobs.py": _KNOBS_MS})
    repo.commit("watch: jobs too", {"mon/watch.py": _WATCH + "\n\ndef jobs(env):\n    return knobs(env)['jobs']\n"})
    test = "from mon.watch import jobs, watcher\n\n\ndef test_defaults():\n    assert watcher({}).every and jobs({})\n"
    repo.commit("tests: the watcher", {"tests/test_watch.py": test})  # `jobs` came last: no older commit runs it
    report = _report(repo.path, "mon", _traceback(repo.path, "from mon.watch import watcher\nwatcher({})\n"))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == ms, result.to_dict()
    assert "confirmed: undoing it on HEAD" in result.oracle, result.oracle


_PEOPLE = "PEOPLE = {'ana': {'name': 'ana lima'}, 'bo': {'name': 'bo chen'}}\n\n\n"
_GET_RAISES = _PEOPLE + ("def get(uid):\n    if uid not in PEOPLE:\n        raise KeyError(uid)\n"
                         "    return PEOPLE[uid]\n")
_GET_NONE = _PEOPLE + "def get(uid):\n    return PEOPLE.get(uid)\n"
_TITLE = ("from ppl.store import get\n\n\ndef title(uid):\n    try:\n        person = get(uid)\n    except KeyError:\n"
          "        return 'Guest'\n    return person['name'].title()\n")
_TITLE_TESTS = ("from ppl.people import title{more}\n\n\ndef test_known():\n    assert title('ana') == 'Ana Lima'\n\n\n"
                "def test_unknown():\n    assert title('zed') == 'Guest'\n")


def test_a_helper_off_the_traceback_whose_commits_own_suite_raises_the_error_stays_the_suspect(
        tmp_path: Path) -> None:
    """`get()` returns None for an unknown id instead of raising; the caller's `except KeyError` is dead and
    `person['name']` raises TypeError in people.py, which the helper's commit did not touch (the helper
    returned). HEAD's test imports a function added last, so older commits are judged by their own test of
    that id; undoing the helper's commit on HEAD breaks the batch lookup built on it. The commit's own suite
    already raises the reported error: it stays the suspect, not the older commit that last changed people.py."""
    repo, helper, _ = _people(tmp_path)
    report = _report(repo.path, "ppl", _traceback(repo.path, "from ppl.people import title\ntitle('zed')\n"))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == helper, result.to_dict()
    assert "its own test suite raises the error there" in result.oracle, result.oracle


def test_a_none_where_a_helper_raised_runs_the_callers_own_handler(tmp_path: Path) -> None:
    """Same history: the caller's `except KeyError: return 'Guest'` is dead since `get()` returns None.
    The caller's own code says what absence means: `if person is None: return 'Guest'` after the `try`
    (a guard returning an empty value fails the test); the batch lookup built on the None stays."""
    repo, helper, parent = _people(tmp_path)
    result = _repair_from(repo, "from ppl.people import title\ntitle('zed')\n", helper, parent)
    assert result.candidate is not None and result.candidate.unit == "template:absent_handler", result.attempts
    text = (repo.path / "ppl/people.py").read_text()
    assert "        return 'Guest'\n    if person is None:\n        return 'Guest'\n" in text, text
    assert "def get_many" in (repo.path / "ppl/store.py").read_text()


def _people(tmp_path: Path) -> tuple[_Repo, str, str]:
    """(repo, the commit whose get() answers None, its parent)"""
    repo = _Repo(tmp_path / "repo", 41)
    repo.commit("ppl: store and titles", {"ppl/__init__.py": "", "ppl/store.py": _GET_RAISES, "ppl/people.py": _TITLE,
                                          "tests/test_people.py": _TITLE_TESTS.format(more="")})
    parent = repo.commit("people: greeting",
                         {"ppl/people.py": _TITLE + "\n\ndef greet(uid):\n    return f'Hi {title(uid)}'\n"})
    helper = repo.commit("store: get() answers None for an unknown id", {"ppl/store.py": _GET_NONE})
    repo.commit("store: get_many", {"ppl/store.py": _GET_NONE + "\n\ndef get_many(uids):\n"
                                    "    return [p for p in map(get, uids) if p is not None]\n"})
    repo.commit("people: mentions", {
        "ppl/people.py": _TITLE + "\n\ndef greet(uid):\n    return f'Hi {title(uid)}'\n\n\n"
                                  "def mentions(uids):\n    return ', '.join('@' + u for u in uids)\n",
        "tests/test_people.py": _TITLE_TESTS.format(more=", mentions")
        + "\n\ndef test_mentions():\n    assert mentions(['ana']) == '@ana'\n"})
    return repo, helper, parent
