"""The fix engine on production crashes whose functions take the repository's own objects.

Real git histories and real test runs, as in `test_fix_engine.py`. No test reaches the crash, and the
report is a production traceback: deployed or installed paths, no argument values. The repro calls a
function of the stack with values built from what the code says: an instance of an annotated class built
from its constructor, the class whose attributes an unannotated parameter is read for, a method on an
instance of its class, the reported message's own values, optional parameters given too.
"""

from __future__ import annotations

from pathlib import Path

from agents.bisect import bisect
from agents.findrepro import find_repro
from agents.repro import repo_path, run_repro
from agents.testing.regressions import _Repo
from swarm.models import ErrorReport
from swarm.runtime.investigate import default_test_command
from tests.support.fixengine import repro_bisect_repair

_ORDERS = '''from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


@dataclass
class Order:
    number: str
    total_cents: int
    {customer}
'''
_OLD_CUSTOMER = "customer_name: str\n    customer_email: str"
_RECEIPTS = '''from __future__ import annotations

from shop.orders import Order


def receipt_header(order: Order) -> str:
    return f"Order {order.number} for {order.customer_name} <{order.customer_email}>"


def receipt(order: Order) -> str:
    return receipt_header(order) + f"\\ntotal {order.total_cents / 100:.2f}\\n"
'''
_LABELS = '''from __future__ import annotations

from shop.orders import Order


def label(order: Order) -> str:
    return f"#{{order.number}}: {{order.{who}}}"
'''
_TESTS = '''from shop.labels import label
from shop.orders import Contact, Order


def test_label():
    order = Order("A1", 1250, {customer})
    assert label(order).startswith("#A1")
'''


def _shop(tmp_path: Path) -> tuple[_Repo, str]:
    """A shop whose fourth commit moves the order's customer e-mail into a Contact, and updates the labels
    but not the receipts, which no test covers; a later commit touches something else."""
    repo = _Repo(tmp_path / "shop", 61)
    files = {"src/shop/__init__.py": "", "src/shop/orders.py": _ORDERS.format(customer=_OLD_CUSTOMER),
             "src/shop/receipts.py": _RECEIPTS, "src/shop/labels.py": _LABELS.format(who="customer_email"),
             "tests/test_labels.py": _TESTS.format(customer='"Ann", "a@example.com"'),
             "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n'}
    repo.commit("shop: orders, receipts, labels", files)
    repo.commit("readme", {"README.md": "# shop\n"})
    moved = repo.commit("orders: the customer is a contact", {
        "src/shop/orders.py": _ORDERS.format(customer="customer: Contact"),
        "src/shop/labels.py": _LABELS.format(who="customer.email"),
        "tests/test_labels.py": _TESTS.format(customer='Contact("Ann", "a@example.com")')})
    repo.commit("changelog", {"CHANGELOG.md": "- contacts\n"})
    return repo, moved


def test_an_installed_copy_of_the_repositorys_package_maps_into_it(tmp_path: Path) -> None:
    """A service run from its installed package names `.../site-packages/shop/receipts.py`: that is the
    repository's `src/shop/receipts.py`. A library's frame maps only where the repository holds that
    library, never onto a file of the same name."""
    repo, _ = _shop(tmp_path)
    root = repo.path
    assert repo_path(root, "/usr/lib/python3.11/site-packages/shop/receipts.py") == "src/shop/receipts.py"
    assert repo_path(root, "/opt/venv/lib/python3.11/dist-packages/shop/orders.py") == "src/shop/orders.py"
    assert repo_path(root, "/opt/venv/lib/python3.11/site-packages/django/shop/receipts.py") is None
    assert repo_path(root, "/opt/venv/lib/python3.11/site-packages/receipts.py") is None
    (root / "svc" / "billing").mkdir(parents=True)
    (root / "svc" / "billing" / "__init__.py").write_text("")
    assert repo_path(root, "/usr/lib/python3/site-packages/billing/__init__.py") == "svc/billing/__init__.py"
    # a handler reports paths relative to the import root that holds them: `shop/receipts.py` of a src layout
    assert repo_path(root, "shop/receipts.py") == "src/shop/receipts.py"
    assert repo_path(root, "billing/__init__.py") == "svc/billing/__init__.py"
    assert repo_path(root, "elsewhere/receipts.py") is None


def test_a_field_a_refactor_moved_is_reproduced_on_an_instance_built_from_the_dataclass(tmp_path: Path) -> None:
    """`receipt_header(order: Order)` needs an Order, which the report cannot give: one built from the
    dataclass's fields raises the reported AttributeError there, through the installed path of the src/
    layout, and bisect takes that repro to the commit that moved the field."""
    repo, moved = _shop(tmp_path)
    stack = ('Traceback (most recent call last):\n'
             '  File "/srv/shop/venv/lib/python3.11/site-packages/shop/receipts.py", line 11, in receipt\n'
             '    return receipt_header(order) + f"\\ntotal {order.total_cents / 100:.2f}\\n"\n'
             '  File "/srv/shop/venv/lib/python3.11/site-packages/shop/receipts.py", line 7, in receipt_header\n'
             '    return f"Order {order.number} for {order.customer_name} <{order.customer_email}>"\n'
             "AttributeError: 'Order' object has no attribute 'customer_name'\n")
    report = ErrorReport(error="AttributeError: 'Order' object has no attribute 'customer_name'", stack=stack,
                         service="shop")
    command = default_test_command(repo.path)
    assert command == "python -m pytest -q"
    # built, reproducing, bisected to the move; the repair follows the commit's own move: `.customer_email`
    # -> `.customer.email` as it wrote in labels, and its sibling `.customer_name` -> `.customer.name` (a field
    # it removed too), in one candidate
    repro, result = repro_bisect_repair(repo, report, moved, command)
    assert "probe values" in repro.detail, repro.detail
    assert repro.target == "src/shop/receipts.py:receipt"  # the outer frame: more of the real path
    assert ".Order, " in repro.args[-1] and ".Contact, " in repro.args[-1], repro.args
    assert result.candidate is not None and result.candidate.unit == "template:stale_name", result.attempts
    fixed = (repo.path / "src/shop/receipts.py").read_text()
    assert "{order.customer.name} <{order.customer.email}>" in fixed, fixed


_LEDGER = '''from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Entry:
    account: str
    cents: int


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
'''
_CHUNKS = '''from __future__ import annotations


class Chunk:
    def __init__(self, number, lines):
        self.number = number
        self.lines = lines


def chunk_count(total: int, size: int) -> int:
    {count}


def chunk(items, number, size):
    start = (number - 1) * size
    return Chunk(number, list(items[start:start + size]))
'''
_REPORT = '''from __future__ import annotations

from typing import TextIO

from books.chunks import chunk, chunk_count
from books.ledger import Ledger


def _heading(part) -> str:
    first, last = part.lines[0], part.lines[-1]
    return f"== {first.account} .. {last.account} ==\\n"


def write_statement(ledger: Ledger, out: TextIO, size: int = 100) -> int:
    entries = ledger.entries
    if not entries:
        return 0
    for number in range(1, chunk_count(len(entries), size) + 1):
        part = chunk(entries, number, size)
        out.write(_heading(part))
        for e in part.lines:
            out.write(f"{e.account} {e.cents}\\n")
    return len(entries)
'''
_BOOK_TESTS = '''from books.chunks import chunk_count


def test_counts():
    assert chunk_count(250, 100) == 3
    assert chunk_count(1, 100) == 1
'''

_BOOKS_STACK = ('Traceback (most recent call last):\n  File "/srv/books/jobs/nightly.py", line 12, in main\n'
                "    write_statement(ledger, fh)\n"
                '  File "/srv/books/books/report.py", line 19, in write_statement\n    out.write(_heading(part))\n'
                '  File "/srv/books/books/report.py", line 10, in _heading\n'
                "    first, last = part.lines[0], part.lines[-1]\nIndexError: list index out of range\n")


def test_an_unannotated_parameter_gets_the_class_it_is_read_for_and_the_outer_frame_wins(tmp_path: Path) -> None:
    """`_heading(part)` reads `part.lines`: a Chunk with no lines raises the reported IndexError, but only
    because it was handed one. The outer `write_statement(ledger, out, size=100)` raises it too once given
    a ledger with one entry and size 1: through the chunk count a commit made one too many, which is what
    bisect then finds."""
    repo = _Repo(tmp_path / "books", 67)
    files = {"books/__init__.py": "", "books/ledger.py": _LEDGER, "books/report.py": _REPORT,
             "books/chunks.py": _CHUNKS.format(count="return (total + size - 1) // size"),
             "tests/test_chunks.py": _BOOK_TESTS}
    repo.commit("books: statements in chunks", files)
    bad = repo.commit("chunks: count without the ceiling trick",
                      {"books/chunks.py": _CHUNKS.format(count="return total // size + 1")})
    repo.commit("readme", {"README.md": "# books\n"})
    report = ErrorReport(error="IndexError: list index out of range", stack=_BOOKS_STACK, service="books")
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.kind == "built" and repro.target == "books/report.py:write_statement", repro.detail
    assert ".Ledger, entries=[" in repro.args[-1] and "size=1" in repro.args[-1], repro.args
    found = bisect(repo.path, repro)
    assert found.first_bad == bad, found



def test_a_formula_changed_for_a_new_case_keeps_the_case_and_the_old_values(tmp_path: Path) -> None:
    """The commit that broke the chunk count did it for a feature its own test checks (an empty ledger has
    one chunk): undoing it fails that test, and a guard at the crash only hides the phantom chunk. The
    line's old value where it is non-empty and its new one where it is empty passes both, at the root."""
    repo = _Repo(tmp_path / "books", 79)
    files = {"books/__init__.py": "", "books/ledger.py": _LEDGER, "books/report.py": _REPORT,
             "books/chunks.py": _CHUNKS.format(count="return (total + size - 1) // size"),
             "tests/test_chunks.py": _BOOK_TESTS}
    repo.commit("books: statements in chunks", files)
    bad = repo.commit("chunks: an empty ledger has one chunk", {
        "books/chunks.py": _CHUNKS.format(count="return total // size + 1"),
        "tests/test_chunks.py": _BOOK_TESTS + "\n\ndef test_empty_has_one_chunk():\n"
                                              "    assert chunk_count(0, 100) == 1\n"})
    repo.commit("readme", {"README.md": "# books\n"})
    report = ErrorReport(error="IndexError: list index out of range", stack=_BOOKS_STACK, service="books")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "blend", result.attempts
    assert "return ((total + size - 1) // size) or (total // size + 1)" in (repo.path / "books/chunks.py").read_text()
    assert (repo.path / "books/report.py").read_text() == _REPORT  # no guard at the crash


_REGISTRY = '''from __future__ import annotations


class MissingEntry(KeyError):
    pass


class Registry:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], str] = {{}}

    def put(self, name: str, region: str, value: str) -> None:
        self._entries[(name, region)] = value

    def lookup(self, name: str, region: str = "eu") -> str:
        for where in (region, "eu"):
            if (name, where) in self._entries:
                return self._entries[(name, where)]
        raise {error}(f"no entry {{name!r}} for region {{region!r}}")
'''
_NOTIFIER = '''from __future__ import annotations

from alerts.registry import MissingEntry, Registry


class Notifier:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def notify(self, name: str, region: str) -> str:
        try:
            return self.registry.lookup(name, region)
        except MissingEntry:
            return "default"
'''
_ALERT_TESTS = '''from alerts.registry import Registry


def test_put_and_lookup():
    r = Registry()
    r.put("weekly", "eu", "w")
    assert r.lookup("weekly", "us") == "w"
'''


def test_the_messages_values_reach_a_method_through_its_caller_on_a_built_instance(tmp_path: Path) -> None:
    """`lookup` raised MissingEntry, which `Notifier.notify` turns into a default; a commit made it raise
    LookupError. The message names the entry and the region: `notify('weekly', 'us')` on a Notifier built
    with an empty Registry raises it word for word, and the region only reaches `lookup` as given, never
    as its default. Bisect takes it to the commit that changed the exception."""
    repo = _Repo(tmp_path / "alerts", 71)
    files = {"alerts/__init__.py": "", "alerts/registry.py": _REGISTRY.format(error="MissingEntry"),
             "alerts/notifier.py": _NOTIFIER, "tests/test_registry.py": _ALERT_TESTS}
    repo.commit("alerts: registry and notifier", files)
    bad = repo.commit("registry: a plain LookupError", {"alerts/registry.py": _REGISTRY.format(error="LookupError")})
    repo.commit("readme", {"README.md": "# alerts\n"})
    message = "no entry 'weekly' for region 'us'"
    stack = ('Traceback (most recent call last):\n  File "/srv/alerts/alerts/notifier.py", line 12, in notify\n'
             "    return self.registry.lookup(name, region)\n"
             '  File "/srv/alerts/alerts/registry.py", line 19, in lookup\n'
             f'    raise LookupError(f"no entry {{name!r}} for region {{region!r}}")\nLookupError: {message}\n')
    report = ErrorReport(error=f"LookupError: {message}", stack=stack, service="alerts")
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.kind == "built" and repro.target == "alerts/notifier.py:notify", repro.detail
    assert ".Notifier, registry=" in repro.args[-1] and "'us'" in repro.args[-1], repro.args
    found = bisect(repro=repro, root=repo.path)
    assert found.first_bad == bad, found


def test_a_src_layout_function_is_called_with_the_reports_arguments(tmp_path: Path) -> None:
    """The report's `context.args` call the crash function as it is, imported from `src/`, where the
    repository's pytest configuration puts it (it was 'no function on the stack could be called')."""
    repo = _Repo(tmp_path / "units", 73)
    conv = "def to_seconds(value, unit):\n    return value / {factor}[unit]\n"
    files = {"src/units/__init__.py": "", "src/units/convert.py": conv.format(factor="{'ms': 1000, 's': 1}"),
             "tests/test_convert.py": "from units.convert import to_seconds\n\n\ndef test_s():\n"
                                      "    assert to_seconds(3, 's') == 3\n",
             "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n'}
    repo.commit("units", files)
    repo.commit("convert: minutes", {"src/units/convert.py": conv.format(factor="{'min': 60, 's': 1}")})
    stack = ('Traceback (most recent call last):\n  File "/srv/units/src/units/convert.py", line 2, in to_seconds\n'
             "    return value / {'min': 60, 's': 1}[unit]\nKeyError: 'ms'\n")
    report = ErrorReport(error="KeyError: 'ms'", stack=stack, service="units",
                         context={"args": [1500, "ms"]})
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.kind == "built" and "probe values" not in repro.detail, repro.detail
    assert "sys.path.insert(0, os.path.abspath('src'))" in repro.args[-1]
    assert run_repro(repo.path, repro) == "bad"


def test_the_default_test_command_is_pytest_where_the_tests_are(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "service" / "tests").mkdir(parents=True)
    (root / "service" / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    (root / "docs").mkdir()
    assert default_test_command(root) == "cd service && python -m pytest -q"
    (root / "worker" / "tests").mkdir(parents=True)
    (root / "worker" / "tests" / "test_b.py").write_text("def test_b():\n    pass\n")
    assert default_test_command(root) is None  # two codebases: which one is the service's is not a guess
    (root / "pytest.ini").write_text("[pytest]\n")
    assert default_test_command(root) == "python -m pytest -q"
    (root / "pytest.ini").unlink()
    (root / "pyproject.toml").write_text("[project]\nname = 'r'\n")
    assert default_test_command(root) is None


_PRICING = '''from __future__ import annotations

CODES = {{"SUMMER10": 10}}


class UnknownCode(ValueError):
    pass


def discount(code: str) -> int:
    try:
        return CODES[code.upper()]
    except KeyError:
        raise UnknownCode(f"unknown code {{code!r}}") from None


def quote(cents: int, *, currency: str = "EUR", {keyword}: str | None = None) -> str:
    if {keyword}:
        cents -= cents * discount({keyword}) // 100
    return f"{{cents / 100:.2f}} {{currency}}"
'''
_ORDER = '''from __future__ import annotations

from shop.pricing import quote


class Order:
    def __init__(self, cents: int, currency: str = "EUR", coupon: str | None = None) -> None:
        self.cents = cents
        self.currency = currency
        self.coupon = coupon

    def price(self) -> str:
        options = {"currency": self.currency}
        if self.coupon:
            options["coupon"] = self.coupon
        return quote(self.cents, **options)
'''


def test_a_keyword_renamed_under_a_dict_a_caller_spreads_is_renamed_in_the_dict(tmp_path: Path) -> None:
    """`quote(coupon=...)` became `quote(promo_code=...)`; `Order.price` passes it as `**options`, with
    `options["coupon"]`. The built Order's made-up coupon then fails further on (an unknown code): past the
    crash, so no longer the error, and bisect finds the rename; the repair renames the dict's key."""
    repo = _Repo(tmp_path / "shop", 83)
    tests = "from shop.pricing import quote\n\n\ndef test_quote():\n    assert quote(1000) == '10.00 EUR'\n"
    repo.commit("shop: orders and pricing", {
        "shop/__init__.py": "", "shop/pricing.py": _PRICING.format(keyword="coupon"), "shop/orders.py": _ORDER,
        "tests/test_pricing.py": tests})
    bad = repo.commit("pricing: the storefront's name for the code", {
        "shop/pricing.py": _PRICING.format(keyword="promo_code"),
        "tests/test_pricing.py": tests + "\n\ndef test_promo():\n"
                                         "    assert quote(1000, promo_code='summer10') == '9.00 EUR'\n"})
    repo.commit("readme", {"README.md": "# shop\n"})
    message = "quote() got an unexpected keyword argument 'coupon'"
    stack = ('Traceback (most recent call last):\n  File "/srv/shop/api.py", line 20, in checkout\n'
             "    total = order.price()\n"
             '  File "/srv/shop/shop/orders.py", line 16, in price\n'
             f"    return quote(self.cents, **options)\nTypeError: {message}\n")
    report = ErrorReport(error=f"TypeError: {message}", stack=stack, service="shop")
    repro, result = repro_bisect_repair(repo, report, bad)
    assert repro.target == "shop/orders.py:price", repro.detail
    assert result.candidate is not None and result.candidate.unit == "template:spread_keyword", result.attempts
    assert 'options["promo_code"] = self.coupon' in (repo.path / "shop/orders.py").read_text()
