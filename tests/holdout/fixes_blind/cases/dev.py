# ruff: noqa: E501  (the embedded repository sources are data, kept as their authors would write them)
"""Dev split of the blind fix set: ten everyday regressions, written without reading the engine."""

from __future__ import annotations

from tests.holdout.fixes.gitrepo import Commit, Spec

D01 = Spec(
    name="d01_dataclass_default_none",
    tier="dev",
    kind="wrong default in a dataclass field (None where an int was meant)",
    hard="crash in pager.py (range step), the default changed in settings.py; later commits use the env settings",
    service="catalog",
    commits=[
        Commit(
            "catalog: paged product listing",
            {
                "catalog/__init__.py": "",
                "catalog/settings.py": '''
                    from dataclasses import dataclass


                    @dataclass
                    class Settings:
                        page_size: int = 20
                        max_pages: int = 50
                        currency: str = "EUR"
                ''',
                "catalog/pager.py": '''
                    def pages(items, size):
                        return [items[i : i + size] for i in range(0, len(items), size)]
                ''',
                "catalog/listing.py": '''
                    from catalog.pager import pages
                    from catalog.settings import Settings


                    def listing(products, settings=None):
                        settings = settings or Settings()
                        chunks = pages(products, settings.page_size)
                        return {"pages": len(chunks), "first": chunks[0] if chunks else []}
                ''',
                "tests/test_listing.py": '''
                    from catalog.listing import listing
                    from catalog.settings import Settings

                    PRODUCTS = [{"sku": f"P{n:03}", "cents": 100 + n} for n in range(45)]


                    def test_default_page_size():
                        assert listing(PRODUCTS)["pages"] == 3


                    def test_custom_page_size():
                        assert listing(PRODUCTS, Settings(page_size=10))["pages"] == 5


                    def test_empty():
                        assert listing([]) == {"pages": 0, "first": []}
                ''',
            },
        ),
        Commit(
            "listing: prices in the configured currency",
            edits=(
                ("catalog/listing.py", "from catalog.pager import pages\n",
                 "from catalog.pager import pages\nfrom catalog.prices import label\n"),
                ("catalog/listing.py", '    return {"pages": len(chunks), "first": chunks[0] if chunks else []}\n',
                 '    first = [dict(p, price=label(p["cents"], settings.currency)) for p in chunks[0]] if chunks else []\n'
                 '    return {"pages": len(chunks), "first": first}\n'),
            ),
            files={
                "catalog/prices.py": '''
                    SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


                    def label(cents, currency):
                        symbol = SYMBOLS.get(currency, currency + " ")
                        return f"{symbol}{cents / 100:.2f}"
                ''',
            },
        ),
        Commit(
            "settings: read from the environment (CATALOG_PAGE_SIZE, CATALOG_CURRENCY)",
            {
                "catalog/settings.py": '''
                    import os
                    from dataclasses import dataclass, field


                    def _env_int(name):
                        value = os.environ.get(name)
                        return int(value) if value else None


                    @dataclass
                    class Settings:
                        page_size: int = field(default_factory=lambda: _env_int("CATALOG_PAGE_SIZE"))
                        max_pages: int = 50
                        currency: str = field(default_factory=lambda: os.environ.get("CATALOG_CURRENCY", "EUR"))
                ''',
            },
        ),
        Commit(
            "settings: tests for the environment",
            {
                "tests/test_settings.py": '''
                    from catalog.settings import Settings


                    def test_currency_from_env(monkeypatch):
                        monkeypatch.setenv("CATALOG_CURRENCY", "GBP")
                        assert Settings().currency == "GBP"


                    def test_page_size_from_env(monkeypatch):
                        monkeypatch.setenv("CATALOG_PAGE_SIZE", "7")
                        assert Settings().page_size == 7
                ''',
            },
        ),
        Commit(
            "pager: never more than max_pages",
            edits=(
                ("catalog/pager.py", "def pages(items, size):\n    return [items[i : i + size] for i in range(0, len(items), size)]\n",
                 "def pages(items, size, limit=None):\n    chunks = [items[i : i + size] for i in range(0, len(items), size)]\n"
                 "    return chunks[:limit] if limit else chunks\n"),
                ("catalog/listing.py", "chunks = pages(products, settings.page_size)\n",
                 "chunks = pages(products, settings.page_size, settings.max_pages)\n"),
                ("tests/test_listing.py", "def test_empty():\n",
                 "def test_max_pages():\n    assert listing(PRODUCTS, Settings(page_size=1, max_pages=4))[\"pages\"] == 4\n\n\n"
                 "def test_price_label():\n    assert listing(PRODUCTS[:1])[\"first\"][0][\"price\"] == \"€1.00\"\n\n\ndef test_empty():\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from catalog.listing import listing\nlisting([{"sku": "A1", "cents": 1999}, {"sku": "B2", "cents": 450}])\n',
    fix=[("catalog/settings.py", 'lambda: _env_int("CATALOG_PAGE_SIZE"))', 'lambda: _env_int("CATALOG_PAGE_SIZE") or 20)')],
    must_keep=[("catalog/settings.py", "CATALOG_CURRENCY"), ("catalog/pager.py", "limit=None")],
)

D02 = Spec(
    name="d02_exception_type_changed",
    tier="dev",
    kind="exception type changed (new ParseError is not a ValueError, the caller's except no longer catches it)",
    hard="the raise is in parse.py, the except that should catch it is in importer.py; later commits use ParseError.lineno",
    service="order-import",
    commits=[
        Commit(
            "orders: CSV line importer",
            {
                "orders/__init__.py": "",
                "orders/parse.py": '''
                    def parse_line(line):
                        sku, qty, price = [p.strip() for p in line.split(",")]
                        return {"sku": sku, "qty": int(qty), "price_cents": int(price)}
                ''',
                "orders/importer.py": '''
                    from orders.parse import parse_line


                    def import_lines(lines):
                        rows, skipped = [], 0
                        for line in lines:
                            try:
                                rows.append(parse_line(line))
                            except ValueError:
                                skipped += 1
                        return {"rows": rows, "skipped": skipped}
                ''',
                "tests/test_importer.py": '''
                    from orders.importer import import_lines


                    def test_good_lines():
                        out = import_lines(["A1, 2, 150", "B2,1,999"])
                        assert out["skipped"] == 0 and out["rows"][1] == {"sku": "B2", "qty": 1, "price_cents": 999}


                    def test_bad_lines_are_skipped():
                        out = import_lines(["A1,2,150", "B2,x,999", "C3,1"])
                        assert out["skipped"] == 2 and len(out["rows"]) == 1
                ''',
            },
        ),
        Commit(
            "importer: order total",
            edits=(
                ("orders/importer.py", '    return {"rows": rows, "skipped": skipped}\n',
                 '    total = sum(r["qty"] * r["price_cents"] for r in rows)\n'
                 '    return {"rows": rows, "skipped": skipped, "total_cents": total}\n'),
                ("tests/test_importer.py", "def test_bad_lines_are_skipped():\n",
                 'def test_total():\n    assert import_lines(["A1,2,150", "B2,1,999"])["total_cents"] == 1299\n\n\n'
                 "def test_bad_lines_are_skipped():\n"),
            ),
        ),
        Commit(
            "parse: ParseError carries the line number",
            {
                "orders/parse.py": '''
                    class ParseError(Exception):
                        def __init__(self, lineno, message):
                            super().__init__(f"line {lineno}: {message}")
                            self.lineno = lineno


                    def parse_line(line, lineno=0):
                        parts = [p.strip() for p in line.split(",")]
                        if len(parts) != 3:
                            raise ParseError(lineno, f"expected 3 fields, got {len(parts)}")
                        sku, qty, price = parts
                        try:
                            return {"sku": sku, "qty": int(qty), "price_cents": int(price)}
                        except ValueError as exc:
                            raise ParseError(lineno, str(exc)) from None
                ''',
            },
            edits=(
                ("orders/importer.py", "    for line in lines:\n", "    for lineno, line in enumerate(lines, start=1):\n"),
                ("orders/importer.py", "rows.append(parse_line(line))", "rows.append(parse_line(line, lineno))"),
            ),
        ),
        Commit(
            "report: human readable summary of an import",
            {
                "orders/report.py": '''
                    from orders.parse import ParseError, parse_line


                    def describe(err):
                        return f"row {err.lineno} rejected ({err})"


                    def check(lines):
                        problems = []
                        for lineno, line in enumerate(lines, start=1):
                            try:
                                parse_line(line, lineno)
                            except ParseError as err:
                                problems.append(describe(err))
                        return problems
                ''',
                "tests/test_report.py": '''
                    from orders.report import check


                    def test_check_names_the_row():
                        assert check(["A1,2,150", "B2,1"]) == ["row 2 rejected (line 2: expected 3 fields, got 2)"]
                ''',
            },
        ),
        Commit(
            "importer: ignore blank lines and # comments",
            edits=(
                ("orders/importer.py", "        try:\n",
                 '        if not line.strip() or line.lstrip().startswith("#"):\n            continue\n        try:\n'),
                ("tests/test_importer.py", "def test_total():\n",
                 'def test_comments():\n    assert import_lines(["# sku,qty,price", "", "A1,2,150"])["skipped"] == 0\n\n\ndef test_total():\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from orders.importer import import_lines\nimport_lines(["KB-01,3,4599", "MS-22,two,1999", "HD-7,1,8900"])\n',
    fix=[("orders/parse.py", "class ParseError(Exception):", "class ParseError(ValueError):")],
    must_keep=[("orders/parse.py", "self.lineno = lineno"), ("orders/report.py", "def describe("),
               ("orders/importer.py", 'startswith("#")')],
)

D03 = Spec(
    name="d03_str_bytes_signature",
    tier="dev",
    kind="str/bytes mixup (serializer returns str, HMAC needs bytes)",
    hard="crash in sign.py (hmac.new), the change is in payload.py; the same commit adds sorted keys that tests rely on",
    service="webhooks",
    commits=[
        Commit(
            "webhooks: signed deliveries",
            {
                "hooks/__init__.py": "",
                "hooks/payload.py": '''
                    import json


                    def serialize(event):
                        return json.dumps(event, separators=(",", ":")).encode()
                ''',
                "hooks/sign.py": '''
                    import hashlib
                    import hmac


                    def signature(secret, body):
                        return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


                    def verify(secret, body, sig):
                        return hmac.compare_digest(signature(secret, body), sig)
                ''',
                "hooks/deliver.py": '''
                    from hooks.payload import serialize
                    from hooks.sign import signature


                    def prepare(event, secret):
                        body = serialize(event)
                        return {"body": body, "headers": {"X-Signature": signature(secret, body)}}
                ''',
                "tests/test_deliver.py": '''
                    import json

                    from hooks.deliver import prepare
                    from hooks.sign import verify


                    def test_signature_verifies():
                        req = prepare({"type": "paid", "id": 7}, "s3cret")
                        assert verify("s3cret", req["body"], req["headers"]["X-Signature"])


                    def test_body_is_the_event():
                        assert json.loads(prepare({"id": 7}, "k")["body"]) == {"id": 7}
                ''',
            },
        ),
        Commit(
            "sign: timestamped signatures",
            edits=(
                ("hooks/sign.py", "def verify(secret, body, sig):\n",
                 'def stamped(secret, body, ts):\n    return f"t={ts},v1=" + signature(secret, str(ts).encode() + b"." + body)\n\n\n'
                 "def verify(secret, body, sig):\n"),
            ),
        ),
        Commit(
            "payload: stable key order, text body for the client's request log",
            edits=(
                ("hooks/payload.py", 'return json.dumps(event, separators=(",", ":")).encode()',
                 'return json.dumps(event, separators=(",", ":"), sort_keys=True)'),
                ("tests/test_deliver.py", "def test_body_is_the_event():\n",
                 'def test_keys_are_sorted():\n    assert list(json.loads(prepare({"z": 1, "a": 2}, "k")["body"])) == ["a", "z"]\n\n\n'
                 "def test_body_is_the_event():\n"),
            ),
        ),
        Commit(
            "deliver: content length and event type headers",
            edits=(
                ("hooks/deliver.py", '    return {"body": body, "headers": {"X-Signature": signature(secret, body)}}\n',
                 '    headers = {"X-Signature": signature(secret, body), "Content-Length": str(len(body))}\n'
                 '    headers["X-Event-Type"] = event.get("type", "unknown")\n'
                 '    return {"body": body, "headers": headers}\n'),
                ("tests/test_deliver.py", "def test_body_is_the_event():\n",
                 'def test_event_type_header():\n    assert prepare({"type": "refund"}, "k")["headers"]["X-Event-Type"] == "refund"\n\n\n'
                 "def test_body_is_the_event():\n"),
            ),
        ),
        Commit(
            "sign: tests for stamped signatures",
            {
                "tests/test_sign.py": '''
                    from hooks.sign import stamped


                    def test_stamped_prefix():
                        assert stamped("k", b"{}", 1700000000).startswith("t=1700000000,v1=")
                ''',
            },
        ),
    ],
    suspect=2,
    repro='from hooks.deliver import prepare\nprepare({"type": "invoice.paid", "invoice": "INV-2291", "amount": 12900}, "whsec_live_4f1c")\n',
    fix=[("hooks/payload.py", "sort_keys=True)", "sort_keys=True).encode()")],
    must_keep=[("hooks/payload.py", "sort_keys=True"), ("hooks/deliver.py", "X-Event-Type"), ("hooks/sign.py", "def stamped(")],
)

D04 = Spec(
    name="d04_fixed_width_slice",
    tier="dev",
    kind="off-by-one in slicing (fixed-width column offsets shifted by one)",
    hard="KeyError in fx.py (rate lookup); the wrong slice is in layout.py; later commits use the new value-date column",
    service="bank-statements",
    commits=[
        Commit(
            "bank: fixed-width statement parser",
            {
                "bank/__init__.py": "",
                "bank/layout.py": '''
                    DATE = slice(0, 8)
                    AMOUNT = slice(8, 20)
                    CURRENCY = slice(20, 23)
                    DESCRIPTION = slice(23, None)
                ''',
                "bank/fx.py": '''
                    RATES = {"EUR": 1.0, "USD": 0.92}


                    def to_eur_cents(cents, currency):
                        return round(cents * RATES[currency])
                ''',
                "bank/statement.py": '''
                    from bank import layout
                    from bank.fx import to_eur_cents


                    def parse_record(line):
                        currency = line[layout.CURRENCY]
                        cents = int(line[layout.AMOUNT])
                        return {
                            "date": line[layout.DATE],
                            "eur_cents": to_eur_cents(cents, currency),
                            "description": line[layout.DESCRIPTION].strip(),
                        }


                    def parse(text):
                        return [parse_record(line) for line in text.splitlines() if line.strip()]
                ''',
                "tests/test_statement.py": '''
                    from bank.statement import parse


                    def test_parse():
                        rows = parse("20240601000000012550EURCoffee beans\\n20240602000000010000USDBooks\\n")
                        assert rows[0] == {"date": "20240601", "eur_cents": 12550, "description": "Coffee beans"}
                        assert rows[1]["eur_cents"] == 9200
                ''',
            },
        ),
        Commit(
            "fx: GBP",
            edits=(("bank/fx.py", 'RATES = {"EUR": 1.0, "USD": 0.92}', 'RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}'),),
        ),
        Commit(
            "layout: the bank added a value-date column after the booking date",
            {
                "bank/layout.py": '''
                    DATE = slice(0, 8)
                    VALUE_DATE = slice(8, 16)
                    AMOUNT = slice(16, 28)
                    CURRENCY = slice(29, 32)
                    DESCRIPTION = slice(32, None)
                ''',
                "tests/test_statement.py": '''
                    from bank.statement import parse


                    def record(date, value_date, cents, currency, text):
                        return f"{date}{value_date}{cents:012d}{currency}{text}"


                    def test_parse():
                        text = record("20240601", "20240603", 12550, "EUR", "Coffee beans") + "\\n"
                        text += record("20240602", "20240602", 10000, "USD", "Books") + "\\n"
                        rows = parse(text)
                        assert rows[0]["description"] == "Coffee beans" and rows[0]["eur_cents"] == 12550
                        assert rows[1]["eur_cents"] == 9200
                ''',
            },
        ),
        Commit(
            "statement: value date in the output",
            edits=(
                ('bank/statement.py', '        "date": line[layout.DATE],\n',
                 '        "date": line[layout.DATE],\n        "value_date": line[layout.VALUE_DATE],\n'),
                ("tests/test_statement.py", '    assert rows[1]["eur_cents"] == 9200\n',
                 '    assert rows[1]["eur_cents"] == 9200\n    assert rows[0]["value_date"] == "20240603"\n'),
            ),
        ),
        Commit(
            "statement: monthly totals",
            edits=(
                ("bank/statement.py", "def parse(text):\n",
                 "def monthly_totals(rows):\n    totals = {}\n    for row in rows:\n"
                 '        month = row["date"][:6]\n        totals[month] = totals.get(month, 0) + row["eur_cents"]\n'
                 "    return totals\n\n\ndef parse(text):\n"),
            ),
            files={
                "tests/test_totals.py": '''
                    from bank.statement import monthly_totals


                    def test_monthly_totals():
                        rows = [{"date": "20240601", "eur_cents": 5}, {"date": "20240630", "eur_cents": 7}, {"date": "20240701", "eur_cents": 1}]
                        assert monthly_totals(rows) == {"202406": 12, "202407": 1}
                ''',
            },
        ),
    ],
    suspect=2,
    repro='from bank.statement import parse\nparse("2024060320240604000000004999GBPTrain ticket London\\n")\n',
    fix=[("bank/layout.py", "CURRENCY = slice(29, 32)\nDESCRIPTION = slice(32, None)", "CURRENCY = slice(28, 31)\nDESCRIPTION = slice(31, None)")],
    must_keep=[("bank/layout.py", "VALUE_DATE = slice(8, 16)"), ("bank/statement.py", "def monthly_totals(")],
)

D05 = Spec(
    name="d05_float_money_split",
    tier="dev",
    kind="float rounding in money (installments computed in float euros no longer add up)",
    hard="ValueError raised in ledger.py; the rounding is in installments.py; a later invoice module needs the euro amounts (revert breaks it)",
    service="billing",
    commits=[
        Commit(
            "billing: installment plans",
            {
                "billing/__init__.py": "",
                "billing/installments.py": '''
                    def split(total_cents, n):
                        if n < 1:
                            raise ValueError("at least one installment")
                        base, rest = divmod(total_cents, n)
                        return [base + (1 if i < rest else 0) for i in range(n)]
                ''',
                "billing/ledger.py": '''
                    from billing.installments import split


                    def plan(total_cents, n):
                        parts = split(total_cents, n)
                        if sum(parts) != total_cents:
                            raise ValueError(f"installments do not add up: {sum(parts)} != {total_cents}")
                        return [{"due": i + 1, "cents": c} for i, c in enumerate(parts)]
                ''',
                "tests/test_ledger.py": '''
                    from billing.ledger import plan


                    def test_even():
                        assert [p["cents"] for p in plan(9000, 3)] == [3000, 3000, 3000]


                    def test_remainder_goes_first():
                        assert [p["cents"] for p in plan(10000, 3)] == [3334, 3333, 3333]
                ''',
            },
        ),
        Commit(
            "money: helpers",
            {
                "billing/money.py": '''
                    def to_cents(euros):
                        return int(round(euros * 100))


                    def fmt(euros):
                        return f"{euros:,.2f} EUR"
                ''',
            },
        ),
        Commit(
            "installments: amounts in euros, as the invoice template shows them",
            {
                "billing/installments.py": '''
                    def split(total_cents, n):
                        """Installment amounts in euros."""
                        if n < 1:
                            raise ValueError("at least one installment")
                        share = round(total_cents / 100 / n, 2)
                        return [share] * n
                ''',
            },
            edits=(
                ("billing/ledger.py", "from billing.installments import split\n",
                 "from billing.installments import split\nfrom billing.money import to_cents\n"),
                ("billing/ledger.py", "    parts = split(total_cents, n)\n", "    parts = [to_cents(e) for e in split(total_cents, n)]\n"),
            ),
        ),
        Commit(
            "invoice: installment lines",
            {
                "billing/invoice.py": '''
                    from billing.installments import split
                    from billing.money import fmt


                    def lines(total_cents, n):
                        return [f"{i}. {fmt(e)}" for i, e in enumerate(split(total_cents, n), start=1)]
                ''',
                "tests/test_invoice.py": '''
                    from billing.invoice import lines


                    def test_lines():
                        assert lines(240000, 2) == ["1. 1,200.00 EUR", "2. 1,200.00 EUR"]
                ''',
            },
        ),
        Commit(
            "ledger: first due date offset",
            edits=(
                ("billing/ledger.py", "def plan(total_cents, n):\n", "def plan(total_cents, n, first_due=1):\n"),
                ("billing/ledger.py", '[{"due": i + 1, "cents": c}', '[{"due": i + first_due, "cents": c}'),
                ("tests/test_ledger.py", "def test_remainder_goes_first():\n",
                 "def test_first_due():\n    assert plan(9000, 3, first_due=2)[0][\"due\"] == 2\n\n\ndef test_remainder_goes_first():\n"),
            ),
        ),
        Commit(
            "money: tests",
            {
                "tests/test_money.py": '''
                    from billing.money import fmt, to_cents


                    def test_to_cents():
                        assert to_cents(19.99) == 1999


                    def test_fmt():
                        assert fmt(1234.5) == "1,234.50 EUR"
                ''',
            },
        ),
    ],
    suspect=2,
    repro="from billing.ledger import plan\nplan(49900, 3)\n",
    fix=[("billing/installments.py", "    share = round(total_cents / 100 / n, 2)\n    return [share] * n\n",
          "    base, rest = divmod(total_cents, n)\n    return [(base + (1 if i < rest else 0)) / 100 for i in range(n)]\n")],
    must_keep=[("billing/invoice.py", "def lines("), ("billing/ledger.py", "first_due=1")],
)

D06 = Spec(
    name="d06_regex_optional_group",
    tier="dev",
    kind="regex change (optional group now yields None, int(None))",
    hard="the crash line (int of the groups) is not the changed regex line; later commits rely on two-part tags",
    service="release-bot",
    commits=[
        Commit(
            "release: version tags",
            {
                "rel/__init__.py": "",
                "rel/version.py": '''
                    import re

                    PATTERN = re.compile(r"^v?(?P<major>\\d+)\\.(?P<minor>\\d+)\\.(?P<patch>\\d+)$")


                    def is_version(tag):
                        return PATTERN.match(tag.strip()) is not None


                    def parse(tag):
                        m = PATTERN.match(tag.strip())
                        if not m:
                            raise ValueError(f"not a version: {tag!r}")
                        return (int(m.group("major")), int(m.group("minor")), int(m.group("patch")))
                ''',
                "rel/releases.py": '''
                    from rel.version import is_version, parse


                    def latest(tags):
                        versions = [parse(t) for t in tags if is_version(t)]
                        return max(versions) if versions else None
                ''',
                "tests/test_releases.py": '''
                    from rel.releases import latest


                    def test_latest():
                        assert latest(["v1.2.3", "v1.10.0", "nightly", "v1.9.9"]) == (1, 10, 0)


                    def test_none():
                        assert latest(["nightly"]) is None
                ''',
            },
        ),
        Commit(
            "releases: next version",
            edits=(
                ("rel/releases.py", "def latest(tags):\n",
                 'def bump(version, part="patch"):\n    major, minor, patch = version\n'
                 '    if part == "major":\n        return (major + 1, 0, 0)\n'
                 '    if part == "minor":\n        return (major, minor + 1, 0)\n'
                 "    return (major, minor, patch + 1)\n\n\ndef latest(tags):\n"),
            ),
            files={
                "tests/test_bump.py": '''
                    from rel.releases import bump


                    def test_bump():
                        assert bump((1, 2, 3)) == (1, 2, 4)
                        assert bump((1, 2, 3), "minor") == (1, 3, 0)
                ''',
            },
        ),
        Commit(
            "version: accept two-part tags like v2.1",
            edits=(
                ("rel/version.py", r'\.(?P<patch>\d+)$', r'(?:\.(?P<patch>\d+))?$'),
            ),
            files={
                "tests/test_version.py": '''
                    from rel.version import is_version


                    def test_two_part_is_a_version():
                        assert is_version("v2.1")
                        assert not is_version("v2")
                ''',
            },
        ),
        Commit(
            "changelog: heading for the next release",
            {
                "rel/changelog.py": '''
                    from rel.releases import bump, latest


                    def heading(tags, part="patch"):
                        current = latest(tags) or (0, 0, 0)
                        return "## v" + ".".join(str(n) for n in bump(current, part))
                ''',
                "tests/test_changelog.py": '''
                    from rel.changelog import heading


                    def test_heading():
                        assert heading(["v0.9.1", "v0.9.2"]) == "## v0.9.3"


                    def test_heading_after_two_part_tag():
                        assert heading(["v1.4.2", "v2.1"], "minor") == "## v2.2.0"
                ''',
            },
        ),
        Commit(
            "version: tolerate surrounding whitespace in tag lists",
            edits=(
                ("tests/test_releases.py", "def test_none():\n",
                 'def test_whitespace():\n    assert latest([" v0.1.0 \\n"]) == (0, 1, 0)\n\n\ndef test_none():\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from rel.releases import latest\nlatest(["v3.0.1", "v3.1", "v3.0.2", "docs-preview"])\n',
    fix=[("rel/version.py", 'int(m.group("patch")))', 'int(m.group("patch") or 0))')],
    must_keep=[("rel/version.py", r'(?:\.(?P<patch>\d+))?$'), ("rel/changelog.py", "def heading(")],
)

D07 = Spec(
    name="d07_operator_precedence",
    tier="dev",
    kind="operator precedence (parentheses dropped: '@' + handle or fallback)",
    hard="the same commit adds initials(), used by a later avatar module",
    service="social",
    commits=[
        Commit(
            "social: mentions",
            {
                "social/__init__.py": "",
                "social/names.py": '''
                    def mention(user):
                        return "@" + (user.get("handle") or user["email"].split("@")[0])
                ''',
                "social/feed.py": '''
                    from social.names import mention


                    def render(post, users):
                        author = users[post["author"]]
                        return f"{mention(author)}: {post['text']}"
                ''',
                "tests/test_feed.py": '''
                    from social.feed import render

                    USERS = {1: {"handle": "ana", "email": "ana@x.org"}, 2: {"handle": None, "email": "ben.o@x.org", "name": "Ben Okafor"}}


                    def test_handle():
                        assert render({"author": 1, "text": "hi"}, USERS) == "@ana: hi"


                    def test_no_handle_uses_email():
                        assert render({"author": 2, "text": "yo"}, USERS) == "@ben.o: yo"
                ''',
            },
        ),
        Commit(
            "feed: timestamps",
            edits=(
                ("social/feed.py", "    return f\"{mention(author)}: {post['text']}\"\n",
                 "    line = f\"{mention(author)}: {post['text']}\"\n"
                 "    if post.get(\"at\"):\n        line += f\" ({post['at']})\"\n    return line\n"),
            ),
        ),
        Commit(
            "names: initials; tidy mention",
            {
                "social/names.py": '''
                    def mention(user):
                        return "@" + user.get("handle") or user["email"].split("@")[0]


                    def initials(user):
                        name = user.get("name") or user["email"].split("@")[0]
                        return "".join(part[0].upper() for part in name.replace(".", " ").split()[:2])
                ''',
            },
        ),
        Commit(
            "avatar: placeholder avatars from initials",
            {
                "social/avatar.py": '''
                    from social.names import initials

                    COLORS = ["#e57373", "#64b5f6", "#81c784", "#ffb74d"]


                    def placeholder(user, uid):
                        return {"text": initials(user), "color": COLORS[uid % len(COLORS)]}
                ''',
                "tests/test_avatar.py": '''
                    from social.avatar import placeholder


                    def test_placeholder():
                        assert placeholder({"name": "Ben Okafor", "email": "b@x.org"}, 5) == {"text": "BO", "color": "#64b5f6"}


                    def test_placeholder_from_email():
                        assert placeholder({"email": "chen.wei@x.org"}, 0)["text"] == "CW"
                ''',
            },
        ),
        Commit(
            "feed: render a whole timeline",
            edits=(
                ("social/feed.py", "def render(post, users):\n",
                 "def timeline(posts, users):\n    return [render(p, users) for p in posts]\n\n\ndef render(post, users):\n"),
                ("tests/test_feed.py", "def test_handle():\n",
                 'def test_timeline():\n    from social.feed import timeline\n\n    assert timeline([{"author": 1, "text": "a", "at": "9:00"}], USERS) == ["@ana: a (9:00)"]\n\n\ndef test_handle():\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from social.feed import timeline\ntimeline([{"author": 31, "text": "shipping today", "at": "10:02"}], {31: {"handle": None, "email": "m.rossi@shop.example"}})\n',
    fix=[("social/names.py", 'return "@" + user.get("handle") or user["email"].split("@")[0]',
          'return "@" + (user.get("handle") or user["email"].split("@")[0])')],
    must_keep=[("social/names.py", "def initials("), ("social/avatar.py", "def placeholder("), ("social/feed.py", "def timeline(")],
)

D08 = Spec(
    name="d08_json_string_ids",
    tier="dev",
    kind="integer vs string ids from JSON (KeyError '2' in an int-keyed store)",
    hard="KeyError in store.py, the missing int() is in handlers.py; later commits add a JSON remove endpoint",
    service="shop-api",
    commits=[
        Commit(
            "shop: cart with a product store",
            {
                "shop/__init__.py": "",
                "shop/store.py": '''
                    PRODUCTS = {
                        1: {"name": "Mug", "cents": 900},
                        2: {"name": "Tea, 100 g", "cents": 650},
                        3: {"name": "Kettle", "cents": 3900},
                    }


                    def product(pid):
                        return PRODUCTS[pid]
                ''',
                "shop/cart.py": '''
                    from shop.store import product


                    def add(cart, pid, qty=1):
                        item = product(pid)
                        cart[pid] = cart.get(pid, 0) + qty
                        return item["cents"] * qty


                    def total(cart):
                        return sum(product(pid)["cents"] * qty for pid, qty in cart.items())
                ''',
                "shop/handlers.py": '''
                    from shop.cart import add, total


                    def handle_add(cart, params):
                        add(cart, int(params["id"]), int(params.get("qty", "1")))
                        return {"total_cents": total(cart)}
                ''',
                "tests/test_handlers.py": '''
                    from shop.handlers import handle_add


                    def test_add_twice():
                        cart = {}
                        handle_add(cart, {"id": "1"})
                        assert handle_add(cart, {"id": "2", "qty": "2"}) == {"total_cents": 2200}
                ''',
            },
        ),
        Commit(
            "cart: quantity limit",
            edits=(
                ("shop/cart.py", "    item = product(pid)\n",
                 '    item = product(pid)\n    if cart.get(pid, 0) + qty > MAX_QTY:\n        raise ValueError(f"at most {MAX_QTY} of {item[\'name\']}")\n'),
                ("shop/cart.py", "from shop.store import product\n", "from shop.store import product\n\nMAX_QTY = 10\n"),
            ),
        ),
        Commit(
            "handlers: JSON request bodies (mobile app)",
            {
                "shop/handlers.py": '''
                    import json

                    from shop.cart import add, total


                    def handle_add(cart, body):
                        data = json.loads(body)
                        add(cart, data["product_id"], data.get("qty", 1))
                        return {"total_cents": total(cart)}
                ''',
                "tests/test_handlers.py": '''
                    from shop.handlers import handle_add


                    def test_add_twice():
                        cart = {}
                        handle_add(cart, '{"product_id": 1}')
                        assert handle_add(cart, '{"product_id": 2, "qty": 2}') == {"total_cents": 2200}
                ''',
            },
        ),
        Commit(
            "handlers: remove from cart",
            edits=(
                ("shop/handlers.py", "def handle_add(cart, body):\n",
                 "def handle_remove(cart, body):\n    data = json.loads(body)\n"
                 '    cart.pop(int(data["product_id"]), None)\n    return {"total_cents": total(cart)}\n\n\n'
                 "def handle_add(cart, body):\n"),
                ("tests/test_handlers.py", "def test_add_twice():\n",
                 "def test_remove():\n    from shop.handlers import handle_remove\n\n"
                 '    cart = {1: 2, 3: 1}\n    assert handle_remove(cart, \'{"product_id": "1"}\') == {"total_cents": 3900}\n\n\n'
                 "def test_add_twice():\n"),
            ),
        ),
        Commit(
            "handlers: the app sends ids as strings; test both",
            edits=(
                ("tests/test_handlers.py", "def test_add_twice():\n",
                 'def test_add_string_id():\n    assert handle_add({}, \'{"product_id": "3", "qty": "1"}\') == {"total_cents": 3900}\n\n\n'
                 "def test_add_twice():\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from shop.handlers import handle_add\nhandle_add({}, \'{"product_id": "2", "qty": "3"}\')\n',
    fix=[("shop/handlers.py", 'add(cart, data["product_id"], data.get("qty", 1))', 'add(cart, int(data["product_id"]), int(data.get("qty", 1)))')],
    must_keep=[("shop/handlers.py", "json.loads(body)"), ("shop/handlers.py", "def handle_remove("), ("shop/cart.py", "MAX_QTY")],
)

D09 = Spec(
    name="d09_class_attribute_shared",
    tier="dev",
    kind="mutable class attribute shared across instances (seen-ids set leaks between batches)",
    hard="the error appears on the second batch only; the same commit adds a per-batch limit used later",
    service="event-ingest",
    commits=[
        Commit(
            "events: batches reject duplicate ids",
            {
                "events/__init__.py": "",
                "events/errors.py": '''
                    class DuplicateEvent(ValueError):
                        def __init__(self, event_id):
                            super().__init__(f"duplicate event id {event_id!r}")
                            self.event_id = event_id
                ''',
                "events/batch.py": '''
                    from events.errors import DuplicateEvent


                    class Batch:
                        def __init__(self, source):
                            self.source = source
                            self.seen = set()
                            self.events = []

                        def add(self, event):
                            if event["id"] in self.seen:
                                raise DuplicateEvent(event["id"])
                            self.seen.add(event["id"])
                            self.events.append(event)
                ''',
                "events/ingest.py": '''
                    from events.batch import Batch


                    def ingest(source, events):
                        batch = Batch(source)
                        for event in events:
                            batch.add(event)
                        return {"source": source, "count": len(batch.events)}
                ''',
                "tests/test_ingest.py": '''
                    import pytest

                    from events.errors import DuplicateEvent
                    from events.ingest import ingest


                    def test_ingest():
                        assert ingest("web", [{"id": 1}, {"id": 2}]) == {"source": "web", "count": 2}


                    def test_duplicate():
                        with pytest.raises(DuplicateEvent):
                            ingest("web", [{"id": 1}, {"id": 1}])
                ''',
            },
        ),
        Commit(
            "ingest: skip heartbeat events",
            edits=(
                ("events/ingest.py", "        batch.add(event)\n",
                 '        if event.get("type") == "heartbeat":\n            continue\n        batch.add(event)\n'),
            ),
        ),
        Commit(
            "batch: declare state on the class; per-batch size limit",
            {
                "events/batch.py": '''
                    from events.errors import DuplicateEvent


                    class Batch:
                        """A batch of events from one source."""

                        limit = 500
                        seen = set()
                        events = []

                        def __init__(self, source, limit=None):
                            self.source = source
                            if limit is not None:
                                self.limit = limit

                        @property
                        def full(self):
                            return len(self.events) >= self.limit

                        def add(self, event):
                            if event["id"] in self.seen:
                                raise DuplicateEvent(event["id"])
                            self.seen.add(event["id"])
                            self.events.append(event)
                ''',
            },
        ),
        Commit(
            "ingest: split into batches of at most `limit` events",
            {
                "events/ingest.py": '''
                    from events.batch import Batch


                    def ingest(source, events, limit=None):
                        batches = [Batch(source, limit)]
                        for event in events:
                            if event.get("type") == "heartbeat":
                                continue
                            if batches[-1].full:
                                batches.append(Batch(source, limit))
                            batches[-1].add(event)
                        return {"source": source, "count": sum(len(b.events) for b in batches), "batches": len(batches)}
                ''',
                "tests/test_ingest.py": '''
                    import pytest

                    from events.errors import DuplicateEvent
                    from events.ingest import ingest


                    def test_ingest():
                        assert ingest("web", [{"id": 1}, {"id": 2}]) == {"source": "web", "count": 2, "batches": 1}


                    def test_limit():
                        assert ingest("web", [{"id": n} for n in range(5)], limit=2)["batches"] == 3


                    def test_two_sources_reuse_ids():
                        ingest("web", [{"id": 1}, {"id": 2}])
                        assert ingest("ios", [{"id": 1}, {"id": 2}, {"type": "heartbeat", "id": 0}])["count"] == 2


                    def test_duplicate():
                        with pytest.raises(DuplicateEvent):
                            ingest("web", [{"id": 1}, {"id": 1}])
                ''',
            },
        ),
        Commit(
            "errors: keep the source in DuplicateEvent",
            edits=(
                ("events/errors.py", "    def __init__(self, event_id):\n", "    def __init__(self, event_id, source=None):\n"),
                ("events/errors.py", "        self.event_id = event_id\n", "        self.event_id = event_id\n        self.source = source\n"),
                ("events/batch.py", "raise DuplicateEvent(event[\"id\"])", "raise DuplicateEvent(event[\"id\"], self.source)"),
            ),
        ),
    ],
    suspect=2,
    repro='from events.ingest import ingest\ningest("android", [{"id": "evt-1"}, {"id": "evt-2"}])\ningest("web", [{"id": "evt-1"}, {"id": "evt-3"}])\n',
    fix=[("events/batch.py", "        if limit is not None:\n",
          "        self.seen = set()\n        self.events = []\n        if limit is not None:\n")],
    must_keep=[("events/batch.py", "def full(self)"), ("events/ingest.py", "batches.append(Batch(source, limit))"),
               ("events/errors.py", "self.source = source")],
)

D10 = Spec(
    name="d10_property_to_method",
    tier="dev",
    kind="property turned into a method (a caller still uses order.total as a number)",
    hard="TypeError in checkout.py, untouched by the change in order.py; later commits call total(rate=...)",
    service="checkout",
    commits=[
        Commit(
            "orders: order and checkout",
            {
                "orders/__init__.py": "",
                "orders/order.py": '''
                    class Order:
                        def __init__(self, lines):
                            self.lines = lines

                        @property
                        def total(self):
                            return sum(line["cents"] * line["qty"] for line in self.lines)
                ''',
                "orders/checkout.py": '''
                    FREE_SHIPPING_FROM = 5000


                    def shipping(order):
                        return 0 if order.total >= FREE_SHIPPING_FROM else 490


                    def charge(order):
                        return order.total + shipping(order)
                ''',
                "orders/receipt.py": '''
                    def receipt(order):
                        return f"Total: {order.total / 100:.2f} EUR"
                ''',
                "tests/test_orders.py": '''
                    from orders.checkout import charge
                    from orders.order import Order
                    from orders.receipt import receipt


                    def test_charge_small():
                        assert charge(Order([{"cents": 1000, "qty": 2}])) == 2490


                    def test_receipt():
                        assert receipt(Order([{"cents": 1250, "qty": 1}])) == "Total: 12.50 EUR"
                ''',
            },
        ),
        Commit(
            "order: line count",
            edits=(
                ("orders/order.py", "    @property\n    def total(self):\n",
                 "    @property\n    def count(self):\n        return sum(line[\"qty\"] for line in self.lines)\n\n"
                 "    @property\n    def total(self):\n"),
            ),
        ),
        Commit(
            "order: total in another currency (rate)",
            edits=(
                ("orders/order.py", "    @property\n    def total(self):\n        return sum(line[\"cents\"] * line[\"qty\"] for line in self.lines)\n",
                 "    def total(self, rate=1.0):\n        return round(sum(line[\"cents\"] * line[\"qty\"] for line in self.lines) * rate)\n"),
                ("orders/receipt.py", "{order.total / 100:.2f}", "{order.total() / 100:.2f}"),
            ),
        ),
        Commit(
            "receipt: show the USD amount too",
            {
                "orders/receipt.py": '''
                    USD_RATE = 1.08


                    def receipt(order, usd=False):
                        text = f"Total: {order.total() / 100:.2f} EUR"
                        if usd:
                            text += f" ({order.total(rate=USD_RATE) / 100:.2f} USD)"
                        return text
                ''',
                "tests/test_receipt.py": '''
                    from orders.order import Order
                    from orders.receipt import receipt


                    def test_usd():
                        assert receipt(Order([{"cents": 1000, "qty": 1}]), usd=True) == "Total: 10.00 EUR (10.80 USD)"
                ''',
            },
        ),
        Commit(
            "checkout: free shipping threshold test",
            edits=(
                ("tests/test_orders.py", "def test_receipt():\n",
                 'def test_charge_free_shipping():\n    assert charge(Order([{"cents": 2500, "qty": 2}])) == 5000\n\n\ndef test_receipt():\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from orders.checkout import charge\nfrom orders.order import Order\ncharge(Order([{"sku": "BK-12", "cents": 1899, "qty": 1}, {"sku": "PN-3", "cents": 250, "qty": 4}]))\n',
    fix=[("orders/checkout.py", "return 0 if order.total >= FREE_SHIPPING_FROM", "return 0 if order.total() >= FREE_SHIPPING_FROM"),
         ("orders/checkout.py", "return order.total + shipping(order)", "return order.total() + shipping(order)")],
    must_keep=[("orders/order.py", "def total(self, rate=1.0)"), ("orders/receipt.py", "USD_RATE")],
)

CASES = [D01, D02, D03, D04, D05, D06, D07, D08, D09, D10]
