"""The fix engine where data changed shape or type: a payload format a consumer missed, a value read as text.

Real git histories and real test runs, as in `test_fix_engine.py`; each test fails without its mechanism.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.bisect import bisect
from agents.repro import find_repro
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


def test_an_override_the_new_call_contract_left_behind_accepts_the_new_argument(tmp_path: Path) -> None:
    """Exporters gain a column selection: the base `rows(self, records, columns=ALL)` and its caller pass
    it, the CSV exporter's override (another module) keeps `rows(self, records)` and refuses every call.
    The override takes the parameter with the base's default (imported) and passes it on to `super()`:
    a CSV export of selected columns works."""
    repo = _Repo(tmp_path / "repo", 25)
    base = ("class Exporter:\n    def rows(self, records):\n        return [list(r.values()) for r in records]\n\n"
            "    def export(self, records):\n        return self.rows(records)\n")
    csv = ("from rep.base import Exporter\n\n\nclass CsvExporter(Exporter):\n    def rows(self, records):\n"
           "        return [','.join(str(v) for v in row) for row in super().rows(records)]\n")
    test = ("from rep.csv import CsvExporter\n\n\ndef test_csv():\n"
            "    assert CsvExporter().export([{'a': 1, 'b': 2}]) == ['1,2']\n")
    files = {"rep/__init__.py": "", "rep/base.py": base, "rep/csv.py": csv, "tests/test_csv.py": test}
    good = repo.commit("rep: exporters", files)
    files |= {"rep/base.py": "ALL = None\n\n\nclass Exporter:\n    def rows(self, records, columns=ALL):\n"
                             "        return [[r[c] for c in columns or r] for r in records]\n\n"
                             "    def export(self, records, columns=ALL):\n"
                             "        return self.rows(records, columns)\n",
              "tests/test_columns.py": "from rep.base import Exporter\n\n\ndef test_columns():\n"
                                       "    assert Exporter().export([{'a': 1, 'b': 2}], ['b']) == [[2]]\n"}
    regression = repo.commit("exporters: a column selection", files)
    files |= {"tests/test_csv_columns.py": "from rep.csv import CsvExporter\n\n\ndef test_csv_columns():\n"
                                           "    assert CsvExporter().export([{'a': 1, 'b': 2}], ['b']) == ['2']\n"}
    repo.commit("tests: CSV of selected columns", files)
    result = _repair_from(repo, "from rep.csv import CsvExporter\nCsvExporter().export([{'x': 3}])", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:api_change", result.attempts
    text = (repo.path / "rep/csv.py").read_text()
    assert "from rep.base import Exporter, ALL\n" in text and "    def rows(self, records, columns=ALL):\n" in text
    assert "super().rows(records, columns=columns)" in text


def test_a_caller_still_unpacking_a_tuple_reads_the_fields_of_the_object_now_returned(tmp_path: Path) -> None:
    """`locate()` returned `(lat, lon)`; it now returns a `Fix` dataclass with an accuracy, and the map
    module follows. The distance module still unpacks it: `cannot unpack non-iterable Fix object`. Its
    unpacking becomes reads of the fields of those names; the accuracy stays."""
    repo = _Repo(tmp_path / "repo", 26)
    geo = "PLACES = {'pier': (52.5, 13.25), 'tower': (52.75, 13.5)}\n\n\ndef locate(name):\n    return PLACES[name]\n"
    dist = ("from gps.geo import locate\n\n\ndef offset(a, b):\n    lat1, lon1 = locate(a)\n"
            "    lat2, lon2 = locate(b)\n    return abs(lat1 - lat2) + abs(lon1 - lon2)\n")
    files = {"gps/__init__.py": "", "gps/geo.py": geo, "gps/dist.py": dist,
             "tests/test_dist.py": "from gps.dist import offset\n\n\ndef test_offset():\n"
                                   "    assert offset('pier', 'tower') == 0.5\n"}
    good = repo.commit("gps: places", files)
    files |= {"gps/geo.py": "from dataclasses import dataclass\n\nPLACES = {'pier': (52.5, 13.25, 5), "
                            "'tower': (52.75, 13.5, 20)}\n\n\n@dataclass\nclass Fix:\n    lat: float\n    lon: float\n"
                            "    accuracy_m: int\n\n\ndef locate(name):\n    return Fix(*PLACES[name])\n",
              "tests/test_geo.py": "from gps.geo import locate\n\n\ndef test_accuracy():\n"
                                  "    assert locate('tower').accuracy_m == 20\n"}
    regression = repo.commit("geo: fixes with their accuracy", files)
    result = _repair_from(repo, "from gps.dist import offset\noffset('pier', 'pier')", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:api_change", result.attempts
    text = (repo.path / "gps/dist.py").read_text()
    assert "    result = locate(a)\n    lat1, lon1 = result.lat, result.lon\n" in text
    assert "accuracy_m" in (repo.path / "gps/geo.py").read_text()


def test_a_latent_bug_is_blamed_on_the_commit_whose_undoing_on_head_clears_the_error(tmp_path: Path) -> None:
    """Slugs gain transliteration of accents, which forgets to decode its bytes; no test has an accent,
    so the bug stays latent until permalinks come with a test that does (methods: no call to replay on
    older commits). HEAD's test cannot run before permalinks exist and the older suites pass, so bisect
    first blames the permalinks commit. Undoing each
    commit on HEAD instead: undoing permalinks leaves the test unable to run, undoing transliteration lets
    it run through (only the transliteration it checks differs): that commit is the suspect."""
    repo = _Repo(tmp_path / "repo", 27)
    slug = "class Slugs:\n    def slug(self, title):\n        return '-'.join(title.lower().split())\n"
    files = {"txt/__init__.py": "", "txt/slug.py": slug,
             "tests/test_slug.py": "from txt.slug import Slugs\n\n\ndef test_slug():\n"
                                   "    assert Slugs().slug('Hello World') == 'hello-world'\n"}
    repo.commit("txt: slugs", files)
    files |= {"txt/slug.py": "import unicodedata\n\n\nclass Slugs:\n    def slug(self, title):\n"
                             "        if not title.isascii():\n"
                             "            title = unicodedata.normalize('NFKD', title).encode('ascii', 'ignore')\n"
                             "        return '-'.join(title.lower().split())\n"}
    latent = repo.commit("slugs: transliterate accents", files)
    files |= {"txt/posts.py": "from txt.slug import Slugs\n\n\nclass Blog:\n    def permalink(self, post):\n"
                              "        return f\"/{post['year']}/{Slugs().slug(post['title'])}\"\n",
              "tests/test_posts.py": "from txt.posts import Blog\n\n\ndef test_permalink():\n"
                                     "    assert Blog().permalink({'year': 2026, 'title': 'Café au lait'}) == "
                                     "'/2026/cafe-au-lait'\n"}
    exposing = repo.commit("posts: permalinks from titles", files)
    repo.commit("readme", {**files, "README.md": "# txt\n"})
    report = _report(repo.path, "txt", _traceback(repo.path, "from txt.posts import Blog\n"
                                                             "Blog().permalink({'year': 2026, 'title': 'Crème'})"))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == latent, result.to_dict()
    assert result.oracle == "HEAD's test with the commit undone on HEAD"
    assert result.tested[f"undo {latent}"] == "asserts" and result.tested[f"undo {exposing}"] == "skip"
    assert exposing[:10] in result.reason and result.candidates == [latent, exposing]


def test_a_value_that_drifted_out_of_range_is_refused_by_the_functions_own_check(tmp_path: Path) -> None:
    """Quotas gain a reserve and a clear refusal when used up; but with a reserve the items left can be
    negative while the quota is not used up, and `islice` refuses a negative stop. Undoing the refusal or
    the reserve breaks their tests; the refusal also covering `left < 0` keeps both."""
    repo = _Repo(tmp_path / "repo", 28)
    quota = ("import itertools\n\n\nclass QuotaExceeded(Exception):\n    pass\n\n\n"
             "def take(items, quota, used):\n    return list(itertools.islice(items, max(quota - used, 0)))\n")
    files = {"jobs/__init__.py": "", "jobs/quota.py": quota,
             "tests/test_quota.py": "from jobs.quota import take\n\n\ndef test_take():\n"
                                    "    assert take(range(10), 5, 2) == [0, 1, 2]\n"}
    good = repo.commit("jobs: quotas", files)
    files |= {"jobs/quota.py": quota.replace(
        "def take(items, quota, used):\n    return list(itertools.islice(items, max(quota - used, 0)))\n",
        "def take(items, quota, used, reserve=0):\n    left = quota - used - reserve\n    if used == quota:\n"
        "        raise QuotaExceeded(f'quota of {quota} used up')\n    return list(itertools.islice(items, left))\n"),
        "tests/test_reserve.py": "import pytest\n\nfrom jobs.quota import QuotaExceeded, take\n\n\n"
                                "def test_reserve():\n"
                                "    assert take(range(10), 10, 2, reserve=3) == [0, 1, 2, 3, 4]\n\n\n"
                                "def test_used_up():\n    with pytest.raises(QuotaExceeded):\n"
                                "        take(range(3), 5, 5)\n\n\n"
                                "def test_reserve_reached():\n    with pytest.raises(QuotaExceeded):\n"
                                "        take(range(10), 10, 8, reserve=3)\n"}
    regression = repo.commit("quotas: a reserve for admin jobs, and a clear refusal when used up", files)
    result = _repair_from(repo, "from jobs.quota import take\ntake(range(4), 10, 9, reserve=2)", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:domain", result.attempts
    assert "    if used == quota or left < 0:\n" in (repo.path / "jobs/quota.py").read_text()


def test_a_none_handed_back_by_a_helper_becomes_the_empty_value_there(tmp_path: Path) -> None:
    """Catalog items may now lack an origin (None). Labels show each field through `shown()`, which hands
    unknown values back as they are, and then measure and pad them: `len(None)`. Patching the crash line
    leaves the padding failing; the helper showing None as "" fixes every use. (`tidy()` also hands its
    argument back, from a file off the failing path: its candidates fail and the file is restored.)"""
    repo = _Repo(tmp_path / "repo", 29)
    catalog = ("CATALOG = {'tea-1': {'name': 'Sencha', 'price': 8.5, 'origin': 'Shizuoka'}}\n\n\n"
               "def lookup(sku):\n    return dict(CATALOG[sku])\n")
    labels = ("from shop.fmt import tidy\n\n\ndef shown(value):\n    if isinstance(value, float):\n"
              "        return f'{value:.2f}'\n    return value\n\n\n"
              "def label(item):\n    parts = tidy([shown(item.get(k)) for k in ('name', 'price', 'origin')])\n"
              "    width = max(len(p) for p in parts)\n    return ' | '.join(p.ljust(width) for p in parts)\n")
    files = {"shop/__init__.py": "", "shop/catalog.py": catalog, "shop/labels.py": labels,
             "shop/fmt.py": "def tidy(parts):\n    return parts\n",  # off the path: its candidates fail
             "tests/test_labels.py": "from shop.catalog import lookup\nfrom shop.labels import label\n\n\n"
                                     "def test_label():\n"
                                     "    assert label(lookup('tea-1')).startswith('Sencha   | 8.50')\n"}
    good = repo.commit("shop: labels", files)
    files |= {"shop/catalog.py": catalog.replace("'Shizuoka'}}", "'Shizuoka'},\n           'tea-2': {'name': "
                                                 "'Blend', 'price': 6.0, 'origin': None}}") +
              "\n\ndef origins():\n    return sorted({i['origin'] for i in CATALOG.values() if i['origin']})\n",
              "tests/test_origins.py": "from shop.catalog import origins\n\n\ndef test_origins():\n"
                                      "    assert origins() == ['Shizuoka']\n"}
    regression = repo.commit("catalog: blends have no single origin", files)
    files |= {"tests/test_blend.py": "from shop.catalog import lookup\nfrom shop.labels import label\n\n\n"
                                     "def test_blend_label():\n    assert label(lookup('tea-2')).split(' | ') == "
                                     "['Blend', '6.00 ', '     ']\n"}
    repo.commit("tests: a blend's label", files)
    result = _repair_from(repo, "from shop.catalog import lookup\nfrom shop.labels import label\n"
                                "label(lookup('tea-2'))", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:passthrough", result.attempts
    assert "    return '' if value is None else value\n" in (repo.path / "shop/labels.py").read_text() or \
        '    return "" if value is None else value\n' in (repo.path / "shop/labels.py").read_text()
