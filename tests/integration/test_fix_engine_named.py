"""The fix engine on crashes whose inputs only the code itself names (a blind review's cases, rebuilt).

Real git histories and real test runs, as in `test_fix_engine.py`; no test reaches the crash, and the
report is a production traceback with installed paths. The repro needs a value no made-up one gives: a
field left None (`priority: int | None`), a number at a boundary the code sets (`hi=5000.0`), a key of a
table the code holds (`RATES["DE"]`) after the made-up one was refused. The repairs follow the code too: a
None-aware accessor the class offers, a tuple that became a dict read by its keys.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agents.brains.offline import OfflineBrain
from agents.findrepro import find_repro, injected_name
from agents.repair import RepairBudget, RepairResult, repair, sites_for
from agents.repro import Repro, run_repro
from agents.testing.regressions import _Repo
from agents.workspace import Workspace
from swarm.agent import AgentContext
from swarm.models import ErrorReport
from tests.support.fixengine import repro_bisect_repair


def _investigate(repo: _Repo, error: str, stack: str, bad: str) -> tuple[Repro, RepairResult]:
    repro, result = repro_bisect_repair(repo, ErrorReport(error=error, stack=stack, service="svc"), bad)
    assert "probe values" in repro.detail, repro.detail
    return repro, result


_JOBS = '''from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEFAULT_PRIORITY = 5


@dataclass
class Job:
    id: str
    created_at: datetime
    priority: int | None = DEFAULT_PRIORITY  # producers may send null

    @property
    def effective_priority(self) -> int:
        return DEFAULT_PRIORITY if self.priority is None else self.priority
'''
_SCHEDULER = '''from __future__ import annotations

from collections.abc import Iterable

from jobs.models import Job


def schedule(jobs: Iterable[Job], limit: int) -> list[Job]:
    ready = list(jobs)
    ready.sort(key=lambda job: {key})
    return ready[:limit]
'''
_PRIORITY_TEST = ("\n\ndef test_priority_first():\n"
                  "    jobs = [Job('a', datetime(2024, 1, 1), 1), Job('b', datetime(2024, 1, 2), 9)]\n"
                  "    assert [j.id for j in schedule(jobs, 1)] == ['b']\n")


def test_a_field_left_none_is_built_and_read_through_the_classs_own_accessor(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "jobs", 89)
    tests = ("from datetime import datetime\n\nfrom jobs.models import Job\nfrom jobs.scheduler import schedule\n\n\n"
             "def test_limit():\n    jobs = [Job('a', datetime(2024, 1, 1)), Job('b', datetime(2024, 1, 2))]\n"
             "    assert [j.id for j in schedule(jobs, 1)] == ['a']\n")
    repo.commit("jobs: a queue", {"jobs/__init__.py": "", "jobs/models.py": _JOBS,
                                  "jobs/scheduler.py": _SCHEDULER.format(key="job.created_at"),
                                  "tests/test_scheduler.py": tests})
    bad = repo.commit("scheduler: highest priority first", {
        "jobs/scheduler.py": _SCHEDULER.format(key="(-job.priority, job.created_at)"),
        "tests/test_scheduler.py": tests + _PRIORITY_TEST})
    repo.commit("readme", {"README.md": "# jobs\n"})
    stack = ('Traceback (most recent call last):\n'
             '  File "/opt/jobs/venv/lib/python3.11/site-packages/jobs/scheduler.py", line 10, in schedule\n'
             "    ready.sort(key=lambda job: (-job.priority, job.created_at))\n"
             '  File "/opt/jobs/venv/lib/python3.11/site-packages/jobs/scheduler.py", line 10, in <lambda>\n'
             "    ready.sort(key=lambda job: (-job.priority, job.created_at))\n"
             "TypeError: bad operand type for unary -: 'NoneType'\n")
    repro, result = _investigate(repo, "TypeError: bad operand type for unary -: 'NoneType'", stack, bad)
    assert "priority=None" in repro.args[-1], repro.args
    assert result.candidate is not None and result.candidate.unit == "template:accessor", result.attempts
    assert "(-job.effective_priority, job.created_at)" in (repo.path / "jobs/scheduler.py").read_text()


_HISTOGRAM = '''from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    endpoint: str
    value_ms: float


class Histogram:
    def __init__(self, lo: float = 0.0, hi: float = 5000.0, buckets: int = 50) -> None:
        if hi <= lo or buckets < 1:
            raise ValueError("need lo < hi and at least one bucket")
        self.lo, self.hi, self.width = lo, hi, (hi - lo) / buckets
        self.counts = [0] * buckets
        self.overflow = 0

    def add(self, sample: Sample) -> None:
        v = sample.value_ms
        if v {op} self.hi:
            self.counts[int((v - self.lo) // self.width)] += 1
        else:
            self.overflow += 1
'''


def test_a_number_the_code_sets_as_a_boundary_is_a_probe_value(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "latency", 97)
    tests = ("from latency.histogram import Histogram, Sample\n\n\ndef test_add():\n    h = Histogram()\n"
             "    h.add(Sample('a', 10.0))\n    h.add(Sample('a', 9000.0))\n    assert sum(h.counts) == 1\n")
    repo.commit("latency: a histogram", {"latency/__init__.py": "", "latency/histogram.py": _HISTOGRAM.format(op="<"),
                                         "tests/test_histogram.py": tests})
    bad = repo.commit("histogram: samples at hi count in range", {"latency/histogram.py": _HISTOGRAM.format(op="<=")})
    repo.commit("readme", {"README.md": "# latency\n"})
    stack = ('Traceback (most recent call last):\n  File "/srv/latency/latency/histogram.py", line 23, in add\n'
             "    self.counts[int((v - self.lo) // self.width)] += 1\nIndexError: list index out of range\n")
    repro, result = _investigate(repo, "IndexError: list index out of range", stack, bad)
    assert "value_ms=5000.0" in repro.args[-1], repro.args
    assert result.candidate is not None, result.attempts
    assert "        if v < self.hi:\n" in (repo.path / "latency/histogram.py").read_text()


_TAX = '''from __future__ import annotations

from decimal import Decimal

RATES = {{"DE": Decimal("0.19"), "FR": Decimal("0.20")}}


class UnknownRegion(LookupError):
    pass


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


def compute_tax(net: Decimal, country: str):
    try:
        rate = RATES[country]
    except KeyError:
        raise UnknownRegion(country) from None
    return {result}
'''
_TOTALS = '''from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from books.tax import compute_tax


@dataclass
class Invoice:
    number: str
    country: str
    lines: list[Decimal] = field(default_factory=list)


def invoice_tax(invoice: Invoice) -> Decimal:
    total = Decimal("0")
    for net in invoice.lines:
        tax, rate = compute_tax(net, invoice.country)
        total += tax
    return total
'''


def test_a_made_up_key_the_code_refuses_is_tried_as_its_tables_keys(tmp_path: Path) -> None:
    """`compute_tax` returned `(tax, rate)` and now a dict: the caller's `tax, rate = ...` unpacks its keys
    and fails a line later. An invoice built with made-up values is refused (`UnknownRegion: a`) before it
    gets there; with the keys of the code's own RATES table it raises the reported error."""
    repo = _Repo(tmp_path / "books", 101)
    tests = ("from decimal import Decimal\n\nfrom books.tax import compute_tax\n\n\ndef test_tax():\n"
             "    assert compute_tax(Decimal('100'), 'DE'){read} == Decimal('19.00')\n")
    repo.commit("books: tax", {"books/__init__.py": "", "books/totals.py": _TOTALS,
                               "books/tax.py": _TAX.format(result="_cents(net * rate), rate"),
                               "tests/test_tax.py": tests.format(read="[0]")})
    bad = repo.commit("tax: a named breakdown", {
        "books/tax.py": _TAX.format(result='{"amount": _cents(net * rate), "rate": rate}'),
        "tests/test_tax.py": tests.format(read="['amount']")})
    repo.commit("readme", {"README.md": "# books\n"})
    message = "unsupported operand type(s) for +=: 'decimal.Decimal' and 'str'"
    stack = ('Traceback (most recent call last):\n'
             '  File "/usr/lib/python3/dist-packages/books/totals.py", line 20, in invoice_tax\n'
             f"    total += tax\nTypeError: {message}\n")
    repro, result = _investigate(repo, f"TypeError: {message}", stack, bad)
    assert "country='DE'" in repro.args[-1] or "country='FR'" in repro.args[-1], repro.args
    assert result.candidate is not None and result.candidate.unit == "template:tuple_to_dict", result.attempts
    assert "tax, rate = result['amount'], result['rate']" in (repo.path / "books/totals.py").read_text()


_RULES = '''from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Rule:
    limit: int
    window_seconds: float


class Window:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.hits: list[float] = []

    def allow(self, now: float) -> bool:
        cutoff = now - self.rule.window_seconds
        self.hits = [t for t in self.hits if t > cutoff]
        if len(self.hits) >= self.rule.limit:
            return False
        self.hits.append(now)
        return True
'''
_CONFIG = '''from __future__ import annotations

import configparser

from limits.rules import Rule


def load(text: str) -> dict[str, Rule]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return {{name: Rule({values}) for name in parser.sections() for section in [parser[name]]}}
'''
_LIMIT_TESTS = '''from limits.config import load
from limits.rules import Rule, Window


def test_window():
    w = Window(Rule(2, 60.0))
    assert w.allow(100.0) and w.allow(101.0) and not w.allow(102.0)


def test_load():
    assert list(load("[api]\\nlimit = 5\\nwindow_seconds = 30\\n")) == ["api"]
'''


def _research(repo: _Repo, report: ErrorReport, tmp_path: Path) -> dict:
    """The offline brain's research phase on the reproduce hypothesis, in a read worktree of `repo`."""
    ws = Workspace.open({"path": str(repo.path)}, root=tmp_path / "ws", investigation_id="i", role="research",
                        mode="read")
    ctx = AgentContext(investigation_id="i", role="research", phase="execute", cycle=1, report=report,
                       signature="s", hypothesis={"id": "h1", "kind": "reproduce"},
                       repository={"test_command": "python -m pytest -q"})
    try:
        return asyncio.run(OfflineBrain().research(ctx, ws))
    finally:
        ws.close()


def test_a_value_no_made_up_input_reaches_is_put_into_what_a_test_passes(tmp_path: Path) -> None:
    """The loader stopped converting an ini file's numbers, so `window_seconds` reaches the window as "30".
    No probe value is a str where a float is annotated; the tests call `allow` on a real window, and that
    call with the rule's number read as text raises the error word for word. The repro is marked injected
    (it shows the symptom at every commit), and the field it names ranks the loader's commit first."""
    repo = _Repo(tmp_path / "limits", 103)
    typed = "limit=section.getint('limit'), window_seconds=section.getfloat('window_seconds')"
    first_tests = _LIMIT_TESTS.replace("def test_load", "def _load")
    repo.commit("limits: a sliding window", {"limits/__init__.py": "", "limits/rules.py": _RULES,
                                             "tests/test_limits.py": first_tests})
    repo.commit("limits: rules from an ini file", {"limits/config.py": _CONFIG.format(values=typed),
                                                   "tests/test_limits.py": _LIMIT_TESTS})
    loader = repo.commit("config: every key of a section", {"limits/config.py": _CONFIG.format(values="**section")})
    repo.commit("readme", {"README.md": "# limits\n"})
    message = "unsupported operand type(s) for -: 'float' and 'str'"
    stack = ('Traceback (most recent call last):\n  File "/srv/limits/limits/rules.py", line 18, in allow\n'
             f"    cutoff = now - self.rule.window_seconds\nTypeError: {message}\n")
    report = ErrorReport(error=f"TypeError: {message}", stack=stack, service="svc")
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.kind == "built" and "arguments a test gives it" in repro.detail, repro.detail
    assert injected_name(repro.injected) == "window_seconds", repro.injected
    assert Repro.from_dict(repro.to_dict()).injected == repro.injected  # it travels in the PEER state
    assert run_repro(repo.path, repro) == "bad"
    out = _research(repo, report, tmp_path)
    assert out["repro"]["injected"] and "bisect" not in out, out
    assert out["suspect_method"] == "ranked" and out["suspects"][0]["commit"] == loader, out["suspects"][:2]


_ITEMS = '''from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class LineItem:
    sku: str
    quantity: int
    unit_price: Decimal
    tax_region: str | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")
'''
_RATES = '''from __future__ import annotations

from decimal import Decimal

RATES = {{"DE": {de}, "FR": {fr}}}


def lookup_rate(region: str){returns}:
    return RATES[region.upper()]
'''
_USES = '''from __future__ import annotations

from decimal import Decimal

from inv.items import LineItem
from inv.rates import lookup_rate


def {name}(line: LineItem, quantity: int) -> Decimal:
    if line.tax_region is None:
        return Decimal("0.00")
    {assign} = lookup_rate(line.tax_region)
    return (line.unit_price * quantity * rate).quantize(Decimal("0.01"))
'''


def test_a_call_the_suspect_left_behind_is_edited_as_it_edited_the_others(tmp_path: Path) -> None:
    """`lookup_rate` now returns `(rate, label)`; the commit rewrote `rate = lookup_rate(...)` as
    `rate, _label = lookup_rate(...)` in the totals but not in the refunds. The repro needs a line item its
    own check accepts (a quantity of 1, not 0) in a region the rates table has; the repair replays the
    commit's edit on the call it missed."""
    repo = _Repo(tmp_path / "inv", 107)
    old_rates = _RATES.format(de='Decimal("0.19")', fr='Decimal("0.20")', returns=" -> Decimal")
    tests = ("from decimal import Decimal\n\nfrom inv.items import LineItem\nfrom inv.totals import line_tax\n\n\n"
             "def test_tax():\n    assert line_tax(LineItem('a', 1, Decimal('100'), 'DE'), 1) == Decimal('19.00')\n")
    repo.commit("inv: taxes", {"inv/__init__.py": "", "inv/items.py": _ITEMS, "inv/rates.py": old_rates,
                               "inv/totals.py": _USES.format(name="line_tax", assign="rate"),
                               "inv/refunds.py": _USES.format(name="refund_tax", assign="rate"),
                               "tests/test_totals.py": tests})
    bad = repo.commit("rates: the label printed on invoices", {
        "inv/rates.py": _RATES.format(de='(Decimal("0.19"), "MwSt 19%")', fr='(Decimal("0.20"), "TVA 20%")',
                                      returns=" -> tuple[Decimal, str]"),
        "inv/totals.py": _USES.format(name="line_tax", assign="rate, _label"),
        "tests/test_rates.py": "from inv.rates import lookup_rate\n\n\ndef test_label():\n"
                               "    assert lookup_rate('de')[1] == 'MwSt 19%'\n"})
    repo.commit("readme", {"README.md": "# inv\n"})
    message = "can't multiply sequence by non-int of type 'decimal.Decimal'"
    stack = ('Traceback (most recent call last):\n'
             '  File "/opt/inv/venv/lib/python3.11/site-packages/inv/refunds.py", line 13, in refund_tax\n'
             f"    return (line.unit_price * quantity * rate).quantize(Decimal(\"0.01\"))\nTypeError: {message}\n")
    repro, result = _investigate(repo, f"TypeError: {message}", stack, bad)
    assert "quantity=1" in repro.args[-1] and "tax_region='DE'" in repro.args[-1], repro.args
    assert result.candidate is not None and result.candidate.unit == "template:call_site", result.attempts
    assert "    rate, _label = lookup_rate(line.tax_region)\n" in (repo.path / "inv/refunds.py").read_text()


def test_a_crash_site_patch_that_passes_only_a_made_up_repro_is_not_claimed(tmp_path: Path) -> None:
    """`first_word('')` raises the reported IndexError, but '' is the probe's own value: production may have
    passed something else. A guard at the crash passes that repro and the tests, and may fix only the
    invented case, so it is named and not claimed; the same guard is claimed when the repro is not made up."""
    repo = _Repo(tmp_path / "words", 109)
    words = ("def first_word(text: str) -> str:\n    return text.split()[0]\n\n\n"
             "def last_word(text: str) -> str:\n    return text.split()[{last}]\n")
    tests = "from words.text import first_word\n\n\ndef test_first():\n    assert first_word('a b') == 'a'\n"
    good = repo.commit("words", {"words/__init__.py": "", "words/text.py": words.format(last="-1"),
                                 "tests/test_text.py": tests})
    bad = repo.commit("text: last word", {"words/text.py": words.format(last="len(text.split()) - 1")})
    stack = ('Traceback (most recent call last):\n  File "/srv/words/words/text.py", line 2, in first_word\n'
             "    return text.split()[0]\nIndexError: list index out of range\n")
    report = ErrorReport(error="IndexError: list index out of range", stack=stack, service="svc")
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.made_up and repro.synthetic, repro.detail
    trace = repro.head_trace()
    assert trace is not None
    sites = sites_for(repo.path, [(f.path, f.line, f.function) for f in trace.frames], bad)

    def fix(r: Repro) -> RepairResult:
        return repair(repo.path, repro=r, test_command="python -m pytest -q", suspects=[(bad, good)], sites=sites,
                      shape=r.error_shape(), message=report.error, budget=RepairBudget())

    withheld = fix(repro)
    assert withheld.candidate is None and withheld.withheld, withheld.attempts
    assert "not claimed" in withheld.reason and "guard" in withheld.reason, withheld.reason
    assert (repo.path / "words/text.py").read_text() == words.format(last="len(text.split()) - 1")  # HEAD kept
    repro.made_up = False
    claimed = fix(repro)
    assert claimed.candidate is not None and claimed.candidate.description == withheld.withheld[0]


_ROOMS = {
    "rooms/__init__.py": "",
    "rooms/errors.py": "class UnknownRoom(LookupError):\n    pass\n",
    "rooms/models.py": "from dataclasses import dataclass, field\n\n\n@dataclass\nclass Room:\n    name: str\n"
                       "    opens: int = 8\n    closes: int = 18\n\n\n@dataclass\nclass Directory:\n"
                       "    rooms: dict = field(default_factory=dict)\n",
    "rooms/lookup.py": "from rooms.errors import UnknownRoom\n\n\ndef find_room(directory, name):\n    try:\n"
                       "        return directory.rooms[name]\n    except KeyError:\n"
                       "        raise UnknownRoom(f'no room named {name!r}') from None\n",
    "rooms/hours.py": "from rooms.lookup import find_room\n\n\ndef free_hours(directory, name):\n"
                      "    room = find_room(directory, name)\n    return list(range(room.opens, room.closes))\n",
    "rooms/api.py": "from rooms.errors import UnknownRoom\nfrom rooms.hours import free_hours\n\n\n"
                    "def get_free_hours(directory, name):\n    try:\n        return 200, free_hours(directory, name)\n"
                    "    except UnknownRoom as exc:\n        return 404, str(exc)\n",
    "tests/__init__.py": "",
    "tests/test_api.py": "from rooms.api import get_free_hours\nfrom rooms.models import Directory, Room\n\n\n"
                         "def test_free_hours():\n    d = Directory({'Atlas': Room('Atlas', 9, 11)})\n"
                         "    assert get_free_hours(d, 'Atlas') == (200, [9, 10])\n",
}


def test_an_injected_value_older_commits_handled_is_bisected_to_the_commit_that_stopped_handling_it(
        tmp_path: Path) -> None:
    """A lookup that raised for an unknown name (the API's 404) returns None after a refactor, and the caller
    crashes on it. No test asks for an unknown room; the repro empties the directory a test builds (injected).
    Before the refactor that call returned (a 404): the injected value was handled there, so bisect with it
    names the refactor (it used to be ranked from the history, which named a later commit that only shares a
    word with the error). Where every commit shows the symptom, it is still ranked (the test above)."""
    repo = _Repo(tmp_path / "rooms", 104)
    repo.commit("rooms: free hours and a lookup", _ROOMS)
    bad = repo.commit("lookup: any case", {"rooms/lookup.py": (
        "def find_room(directory, name):\n    wanted = name.strip().casefold()\n"
        "    for key, room in directory.rooms.items():\n        if key.casefold() == wanted:\n"
        "            return room\n    return None\n")})
    repo.commit("report: occupancy", {"rooms/report.py": "def occupancy(directory):\n"
                                      "    return {n: r.closes - r.opens for n, r in directory.rooms.items()}\n"})
    stack = ('Traceback (most recent call last):\n  File "/srv/rooms/rooms/api.py", line 7, in get_free_hours\n'
             "    return 200, free_hours(directory, name)\n"
             '  File "/srv/rooms/rooms/hours.py", line 6, in free_hours\n'
             "    return list(range(room.opens, room.closes))\n"
             "AttributeError: 'NoneType' object has no attribute 'opens'\n")
    report = ErrorReport(error="AttributeError: 'NoneType' object has no attribute 'opens'", stack=stack,
                         service="svc")
    out = _research(repo, report, tmp_path)
    assert out["repro"]["injected"], out["repro"]
    assert out["suspect_method"] == "bisected" and out["suspects"][0]["commit"] == bad, out["suspects"][:2]
    assert out["bisect"]["tested"][out["bisect"]["last_good"]] == "good", out["bisect"]
    # the repair: the lookup raises again where it now returns None (its import back with it), keeping the
    # case-insensitive loop; a guard at the crash site passed too but is not claimed on an injected repro
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:old_raise", result.attempts[-5:]
    lookup = (repo.path / "rooms/lookup.py").read_text()
    assert "from rooms.errors import UnknownRoom\n" in lookup and "casefold" in lookup
    assert "    raise UnknownRoom(f'no room named {name!r}') from None\n" in lookup and "return None" not in lookup


def test_a_call_the_tests_expect_to_raise_is_no_repro_of_the_error(tmp_path: Path) -> None:
    """The only call of the crash function that raises the reported error word for word is a test's own
    `with pytest.raises(PageOutOfRange): get_page(items, 3)`: correct behaviour, replayed as it is ("nothing
    changed") or with an unrelated change, it reproduced nothing of the production failure (a partial last page
    after `ceil` became `//`) and bisect then judged commits by it. Such calls are not replayed."""
    repo = _Repo(tmp_path / "ledger", 105)
    paging = ("class PageOutOfRange(ValueError):\n    pass\n\n\ndef page_count(total, per_page):\n"
              "    return max(1, -(-total // per_page))\n\n\ndef get_page(items, page, per_page=20):\n"
              "    pages = page_count(len(items), per_page)\n    if page < 1 or page > pages:\n"
              "        raise PageOutOfRange(f'page {page} of {pages}')\n"
              "    return items[(page - 1) * per_page:page * per_page]\n")
    tests = ("import pytest\n\nfrom ledger.paging import PageOutOfRange, get_page\n\n\ndef test_get_page():\n"
             "    assert get_page(list(range(40)), 2) == list(range(20, 40))\n\n\ndef test_out_of_range():\n"
             "    with pytest.raises(PageOutOfRange):\n        get_page(list(range(40)), 3)\n")
    repo.commit("ledger: pages", {"ledger/__init__.py": "", "ledger/paging.py": paging, "tests/test_paging.py": tests})
    repo.commit("paging: integer page count", {"ledger/paging.py": paging.replace("-(-total // per_page)",
                                                                                  "total // per_page")})
    stack = ('Traceback (most recent call last):\n  File "/srv/ledger/ledger/paging.py", line 11, in get_page\n'
             "    raise PageOutOfRange(f'page {page} of {pages}')\nledger.paging.PageOutOfRange: page 3 of 2\n")
    report = ErrorReport(error="ledger.paging.PageOutOfRange: page 3 of 2", stack=stack, service="svc",
                         context={"file": "ledger/paging.py", "line": 11, "function": "get_page"})
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.kind == "none", (repro.kind, repro.detail)
