# ruff: noqa: E501  (the embedded repository sources are data, kept as their authors would write them)
"""Easy: one focused regressing commit in the middle of the history; the repo's tests catch it directly."""

from __future__ import annotations

from tests.holdout.fixes.gitrepo import Commit, Spec

E01 = Spec(
    name="e01_optional_key",
    tier="easy",
    kind="missing optional key (dict[k] instead of .get)",
    hard="",
    service="notifier",
    commits=[
        Commit(
            "Initial notifier: config loading and delivery",
            {
                "notifier/__init__.py": '"""Send notifications over email, sms or push."""\n',
                "notifier/config.py": '''
                    from dataclasses import dataclass

                    CHANNELS = ("email", "sms", "push")


                    @dataclass
                    class Settings:
                        channel: str
                        retries: int = 3


                    def load_config(raw: dict) -> Settings:
                        channel = raw.get("channel", "email")
                        if channel not in CHANNELS:
                            raise ValueError(f"unknown channel: {channel}")
                        retries = int(raw.get("retries", 3))
                        return Settings(channel=channel, retries=retries)
                ''',
                "notifier/sender.py": '''
                    from notifier.config import load_config


                    def deliver(message, raw_config, transport):
                        """Send `message` with `transport(channel, message)`, retrying on ConnectionError."""
                        settings = load_config(raw_config)
                        attempts = 0
                        while True:
                            attempts += 1
                            try:
                                return transport(settings.channel, message)
                            except ConnectionError:
                                if attempts > settings.retries:
                                    raise
                ''',
                "tests/test_config.py": '''
                    import pytest

                    from notifier.config import load_config


                    def test_defaults():
                        settings = load_config({})
                        assert settings.channel == "email"
                        assert settings.retries == 3


                    def test_unknown_channel():
                        with pytest.raises(ValueError):
                            load_config({"channel": "fax"})
                ''',
            },
        ),
        Commit(
            "sender: tests for retries",
            {
                "tests/test_sender.py": '''
                    from notifier.sender import deliver


                    def test_retries_then_succeeds():
                        calls = []

                        def flaky(channel, message):
                            calls.append(channel)
                            if len(calls) < 3:
                                raise ConnectionError("down")
                            return "sent"

                        assert deliver("hi", {"channel": "sms"}, flaky) == "sent"
                        assert calls == ["sms", "sms", "sms"]
                ''',
            },
        ),
        Commit(
            "config: backoff between attempts",
            edits=(
                ("notifier/config.py", "    retries: int = 3\n", "    retries: int = 3\n    backoff_s: float = 1.5\n"),
                (
                    "notifier/config.py",
                    "    return Settings(channel=channel, retries=retries)\n",
                    '    backoff = float(raw.get("backoff_s", 1.5))\n'
                    "    return Settings(channel=channel, retries=retries, backoff_s=backoff)\n",
                ),
            ),
        ),
        Commit(
            "config: validate the retries range",
            edits=(
                (
                    "notifier/config.py",
                    '    retries = int(raw.get("retries", 3))\n',
                    '    retries = int(raw["retries"])\n'
                    "    if not 0 <= retries <= 10:\n"
                    '        raise ValueError(f"retries out of range: {retries}")\n',
                ),
            ),
        ),
        Commit(
            "sender: tag messages with the channel",
            edits=(
                ("notifier/sender.py", "    settings = load_config(raw_config)\n",
                 '    settings = load_config(raw_config)\n    message = f"[{settings.channel}] {message}"\n'),
                ("tests/test_sender.py", '    assert calls == ["sms", "sms", "sms"]\n',
                 '    assert calls == ["sms", "sms", "sms"]\n\n\n'
                 "def test_message_is_tagged():\n"
                 '    assert deliver("hi", {"retries": 0}, lambda c, m: m) == "[email] hi"\n'),
            ),
        ),
    ],
    suspect=3,
    repro='from notifier.sender import deliver\ndeliver("password reset", {"channel": "sms"}, lambda c, m: "ok")\n',
    fix=[("notifier/config.py", 'int(raw["retries"])', 'int(raw.get("retries", 3))')],
)

E02 = Spec(
    name="e02_off_by_one_range",
    tier="easy",
    kind="off-by-one in a range (IndexError)",
    hard="",
    service="metrics",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "tsstats: deltas and rates of a time series",
            {
                "tsstats/__init__.py": "",
                "tsstats/series.py": '''
                    """A series is a list of (timestamp, value) points, oldest first."""


                    def deltas(points):
                        return [points[i + 1][1] - points[i][1] for i in range(len(points) - 1)]


                    def intervals(points):
                        return [points[i + 1][0] - points[i][0] for i in range(len(points) - 1)]


                    def rates(points):
                        return [d / dt for d, dt in zip(deltas(points), intervals(points)) if dt]
                ''',
                "tests/__init__.py": "",
                "tests/test_series.py": '''
                    import unittest

                    from tsstats.series import deltas, rates


                    class SeriesTest(unittest.TestCase):
                        def test_deltas(self):
                            self.assertEqual(deltas([(0, 1), (10, 4), (20, 4)]), [3, 0])

                        def test_rates(self):
                            self.assertEqual(rates([(0, 0), (10, 5)]), [0.5])
                ''',
            },
        ),
        Commit(
            "report: summary of a series",
            {
                "tsstats/report.py": '''
                    from tsstats.series import deltas, rates


                    def summary(points):
                        r = rates(points)
                        d = deltas(points)
                        return {
                            "points": len(points),
                            "max_rate": max(r) if r else 0.0,
                            "total_change": sum(d),
                        }
                ''',
                "tests/test_report.py": '''
                    import unittest

                    from tsstats.report import summary


                    class ReportTest(unittest.TestCase):
                        def test_summary(self):
                            s = summary([(0, 0), (10, 5), (20, 25)])
                            self.assertEqual(s["max_rate"], 2.0)
                            self.assertEqual(s["total_change"], 25)
                ''',
            },
        ),
        Commit(
            "series: handle series with a single point",
            edits=(
                (
                    "tsstats/series.py",
                    "def deltas(points):\n    return [points[i + 1][1] - points[i][1] for i in range(len(points) - 1)]\n",
                    "def deltas(points):\n    if len(points) < 2:\n        return []\n"
                    "    return [points[i + 1][1] - points[i][1] for i in range(len(points))]\n",
                ),
            ),
        ),
        Commit(
            "report: mean change per step",
            edits=(
                ("tsstats/report.py", '        "total_change": sum(d),\n',
                 '        "total_change": sum(d),\n        "mean_change": sum(d) / len(d) if d else 0.0,\n'),
                ("tests/test_report.py", '        self.assertEqual(s["total_change"], 25)\n',
                 '        self.assertEqual(s["total_change"], 25)\n        self.assertEqual(s["mean_change"], 12.5)\n'),
            ),
        ),
    ],
    suspect=2,
    repro="from tsstats.report import summary\nsummary([(1717400000, 10), (1717400060, 12), (1717400120, 19)])\n",
    fix=[("tsstats/series.py", "for i in range(len(points))]", "for i in range(len(points) - 1)]")],
)

E03 = Spec(
    name="e03_true_division",
    tier="easy",
    kind="/ instead of // (float page count)",
    hard="",
    service="catalog",
    commits=[
        Commit(
            "catalog: paginate listings",
            {
                "catalog/__init__.py": "",
                "catalog/pagination.py": '''
                    def page_count(total, per_page):
                        if per_page <= 0:
                            raise ValueError("per_page must be positive")
                        return -(-total // per_page)


                    def pages(items, per_page):
                        for n in range(page_count(len(items), per_page)):
                            yield items[n * per_page : (n + 1) * per_page]
                ''',
                "tests/test_pagination.py": '''
                    from catalog.pagination import page_count, pages


                    def test_page_count():
                        assert page_count(0, 10) == 0
                        assert page_count(10, 10) == 1
                        assert page_count(11, 10) == 2


                    def test_pages():
                        assert list(pages([1, 2, 3], 2)) == [[1, 2], [3]]
                ''',
            },
        ),
        Commit(
            "listing: render a product listing page by page",
            {
                "catalog/listing.py": '''
                    from catalog.pagination import pages


                    def render(products, per_page=20):
                        out = []
                        for number, chunk in enumerate(pages(products, per_page), start=1):
                            names = ", ".join(p["name"] for p in chunk)
                            out.append(f"page {number}: {names}")
                        return out
                ''',
                "tests/test_listing.py": '''
                    from catalog.listing import render


                    def test_render():
                        products = [{"name": n} for n in "abcde"]
                        assert render(products, per_page=2) == ["page 1: a, b", "page 2: c, d", "page 3: e"]
                ''',
            },
        ),
        Commit(
            "pagination: clearer page_count arithmetic",
            edits=(("catalog/pagination.py", "    return -(-total // per_page)\n",
                    "    return (total + per_page - 1) / per_page\n"),),
        ),
        Commit(
            "listing: skip hidden products",
            edits=(
                ("catalog/listing.py", "    out = []\n",
                 '    out = []\n    products = [p for p in products if not p.get("hidden")]\n'),
                ("tests/test_listing.py", 'assert render(products, per_page=2) == ["page 1: a, b", "page 2: c, d", "page 3: e"]\n',
                 'assert render(products, per_page=2) == ["page 1: a, b", "page 2: c, d", "page 3: e"]\n\n\n'
                 "def test_hidden():\n"
                 '    assert render([{"name": "a", "hidden": True}, {"name": "b"}]) == ["page 1: b"]\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from catalog.listing import render\nrender([{"name": f"sku-{i}"} for i in range(45)])\n',
    fix=[("catalog/pagination.py", "(total + per_page - 1) / per_page", "(total + per_page - 1) // per_page")],
)

E04 = Spec(
    name="e04_none_guard_dropped",
    tier="easy",
    kind="None guard dropped (optional argument)",
    hard="",
    service="mailer",
    commits=[
        Commit(
            "mailer: build messages",
            {
                "mailer/__init__.py": "",
                "mailer/message.py": '''
                    def build_message(to, subject, body, cc=None):
                        recipients = [to]
                        for addr in cc or []:
                            recipients.append(addr)
                        return {"to": recipients, "subject": subject.strip(), "body": body}
                ''',
                "tests/test_message.py": '''
                    from mailer.message import build_message


                    def test_plain():
                        msg = build_message("a@x.org", " Hi ", "body")
                        assert msg == {"to": ["a@x.org"], "subject": "Hi", "body": "body"}


                    def test_cc():
                        assert build_message("a@x.org", "s", "b", cc=["c@x.org"])["to"] == ["a@x.org", "c@x.org"]
                ''',
            },
        ),
        Commit(
            "send: welcome and password reset mails",
            {
                "mailer/send.py": '''
                    from mailer.message import build_message


                    def welcome(user, outbox):
                        outbox.append(build_message(user["email"], "Welcome", f"Hello {user['name']}"))


                    def password_reset(user, token, outbox, cc=None):
                        body = f"Reset link: https://example.org/reset/{token}"
                        outbox.append(build_message(user["email"], "Password reset", body, cc=cc))
                ''',
                "tests/test_send.py": '''
                    from mailer.send import password_reset, welcome

                    USER = {"email": "u@x.org", "name": "Uma"}


                    def test_welcome():
                        outbox = []
                        welcome(USER, outbox)
                        assert outbox[0]["subject"] == "Welcome"


                    def test_reset():
                        outbox = []
                        password_reset(USER, "t0k", outbox)
                        assert outbox[0]["body"].endswith("/reset/t0k")
                ''',
            },
        ),
        Commit(
            "message: de-duplicate cc recipients",
            edits=(
                ("mailer/message.py", "    for addr in cc or []:\n        recipients.append(addr)\n",
                 "    for addr in sorted(set(cc)):\n        if addr != to:\n            recipients.append(addr)\n"),
                ("tests/test_message.py", 'cc=["c@x.org"])["to"] == ["a@x.org", "c@x.org"]\n',
                 'cc=["c@x.org", "c@x.org"])["to"] == ["a@x.org", "c@x.org"]\n'),
            ),
        ),
        Commit(
            "send: reply-to header",
            edits=(
                ("mailer/send.py", "def welcome(user, outbox):\n",
                 'REPLY_TO = "support@example.org"\n\n\ndef welcome(user, outbox):\n'),
                ("mailer/message.py", '    return {"to": recipients, "subject": subject.strip(), "body": body}\n',
                 '    return {"to": recipients, "subject": subject.strip(), "body": body}\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from mailer.send import welcome\nwelcome({"email": "kim@example.com", "name": "Kim"}, [])\n',
    fix=[("mailer/message.py", "sorted(set(cc))", "sorted(set(cc or []))")],
)

E05 = Spec(
    name="e05_swapped_arguments",
    tier="easy",
    kind="swapped arguments at a call site",
    hard="",
    service="feeds",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "fetcher: a tiny HTTP facade",
            {
                "fetcher/__init__.py": "",
                "fetcher/http.py": '''
                    DEFAULT_TIMEOUT = 10


                    def get(url, timeout, transport=None):
                        if not url.startswith(("http://", "https://")):
                            raise ValueError(f"not an http url: {url}")
                        if timeout <= 0:
                            raise ValueError("timeout must be positive")
                        transport = transport or (lambda u, t: {"url": u, "status": 200, "body": ""})
                        return transport(url, timeout)
                ''',
                "tests/__init__.py": "",
                "tests/test_http.py": '''
                    import unittest

                    from fetcher.http import get


                    class GetTest(unittest.TestCase):
                        def test_rejects_non_http(self):
                            with self.assertRaises(ValueError):
                                get("ftp://x", 5)

                        def test_get(self):
                            self.assertEqual(get("https://x.org", 5)["status"], 200)
                ''',
            },
        ),
        Commit(
            "sync: fetch every feed",
            {
                "fetcher/sync.py": '''
                    from fetcher import http


                    def sync(feeds, transport=None):
                        results = {}
                        for feed in feeds:
                            response = http.get(feed["url"], http.DEFAULT_TIMEOUT, transport=transport)
                            results[feed["name"]] = response["status"]
                        return results
                ''',
                "tests/test_sync.py": '''
                    import unittest

                    from fetcher.sync import sync


                    class SyncTest(unittest.TestCase):
                        def test_sync(self):
                            feeds = [{"name": "blog", "url": "https://x.org/rss"}, {"name": "news", "url": "http://y.org"}]
                            self.assertEqual(sync(feeds), {"blog": 200, "news": 200})
                ''',
            },
        ),
        Commit(
            "sync: per-feed timeout",
            edits=(
                ("fetcher/sync.py", '        response = http.get(feed["url"], http.DEFAULT_TIMEOUT, transport=transport)\n',
                 '        timeout = feed.get("timeout", http.DEFAULT_TIMEOUT)\n'
                 '        response = http.get(timeout, feed["url"], transport=transport)\n'),
            ),
        ),
        Commit(
            "http: user agent",
            edits=(
                ("fetcher/http.py", "DEFAULT_TIMEOUT = 10\n", 'DEFAULT_TIMEOUT = 10\nUSER_AGENT = "fetcher/1.2"\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from fetcher.sync import sync\nsync([{"name": "changelog", "url": "https://example.org/changes.xml"}])\n',
    fix=[("fetcher/sync.py", 'http.get(timeout, feed["url"],', 'http.get(feed["url"], timeout,')],
)

E06 = Spec(
    name="e06_format_mapping",
    tier="easy",
    kind="string formatting change (format(row) instead of format(**row))",
    hard="",
    service="invoicing",
    commits=[
        Commit(
            "invoice: line items and totals",
            {
                "invoicing/__init__.py": "",
                "invoicing/totals.py": '''
                    def line_total(item):
                        return round(item["price"] * item["qty"], 2)


                    def rows(items):
                        return [{"name": i["name"], "total": line_total(i)} for i in items]
                ''',
                "invoicing/render.py": '''
                    from invoicing.totals import rows

                    LINE = "{name:<12}{total:>8.2f}"


                    def render(items):
                        lines = [LINE.format(**row) for row in rows(items)]
                        grand = sum(r["total"] for r in rows(items))
                        lines.append(LINE.format(name="TOTAL", total=grand))
                        return "\\n".join(lines)
                ''',
                "tests/test_render.py": '''
                    from invoicing.render import render


                    def test_render():
                        out = render([{"name": "pen", "price": 1.5, "qty": 2}, {"name": "pad", "price": 3.25, "qty": 1}])
                        lines = out.splitlines()
                        assert lines[0].split() == ["pen", "3.00"]
                        assert lines[-1].split() == ["TOTAL", "6.25"]
                ''',
            },
        ),
        Commit(
            "totals: discounts per line",
            edits=(
                ("invoicing/totals.py", '    return round(item["price"] * item["qty"], 2)\n',
                 '    gross = item["price"] * item["qty"]\n    return round(gross * (1 - item.get("discount", 0)), 2)\n'),
            ),
            files={
                "tests/test_totals.py": '''
                    from invoicing.totals import line_total


                    def test_discount():
                        assert line_total({"price": 10.0, "qty": 3, "discount": 0.1}) == 27.0
                ''',
            },
        ),
        Commit(
            "render: wider total column",
            edits=(
                ("invoicing/render.py", 'LINE = "{name:<12}{total:>8.2f}"\n', 'LINE = "{name:<12}{total:>10.2f}"\n'),
                ("invoicing/render.py", "    lines = [LINE.format(**row) for row in rows(items)]\n",
                 "    lines = [LINE.format(row) for row in rows(items)]\n"),
            ),
        ),
        Commit(
            "render: currency footer",
            edits=(
                ("invoicing/render.py", '    return "\\n".join(lines)\n',
                 '    lines.append(f"amounts in {currency}")\n    return "\\n".join(lines)\n'),
                ("invoicing/render.py", "def render(items):\n", 'def render(items, currency="EUR"):\n'),
                ("tests/test_render.py", '    assert lines[-1].split() == ["TOTAL", "6.25"]\n',
                 '    assert lines[-2].split() == ["TOTAL", "6.25"]\n    assert lines[-1] == "amounts in EUR"\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from invoicing.render import render\nprint(render([{"name": "hosting", "price": 49.0, "qty": 3}]))\n',
    fix=[("invoicing/render.py", "LINE.format(row)", "LINE.format(**row)")],
)

E07 = Spec(
    name="e07_handler_removed",
    tier="easy",
    kind="exception handler removed",
    hard="",
    service="importer",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "importer: parse CSV rows",
            {
                "importer/__init__.py": "",
                "importer/parse.py": '''
                    def to_int(value, default=0):
                        try:
                            return int(value.strip())
                        except ValueError:
                            return default


                    def parse_row(line):
                        sku, name, stock = line.split(";")
                        return {"sku": sku.strip(), "name": name.strip(), "stock": to_int(stock)}
                ''',
                "importer/load.py": '''
                    from importer.parse import parse_row


                    def load(text):
                        return [parse_row(line) for line in text.splitlines() if line.strip()]
                ''',
                "tests/__init__.py": "",
                "tests/test_parse.py": '''
                    import unittest

                    from importer.parse import parse_row, to_int


                    class ParseTest(unittest.TestCase):
                        def test_to_int(self):
                            self.assertEqual(to_int(" 7 "), 7)
                            self.assertEqual(to_int("n/a"), 0)
                            self.assertEqual(to_int("", default=-1), -1)

                        def test_row(self):
                            self.assertEqual(parse_row("A1; pen ; 3"), {"sku": "A1", "name": "pen", "stock": 3})
                ''',
            },
        ),
        Commit(
            "load: skip comment lines",
            edits=(
                ("importer/load.py", "if line.strip()]", 'if line.strip() and not line.startswith("#")]'),
            ),
        ),
        Commit(
            "parse: accept thousands separators in numbers",
            edits=(
                ("importer/parse.py",
                 "    try:\n        return int(value.strip())\n    except ValueError:\n        return default\n",
                 '    cleaned = value.strip().replace(",", "")\n    if not cleaned:\n        return default\n'
                 "    return int(cleaned)\n"),
            ),
        ),
        Commit(
            "tests: thousands separators",
            edits=(
                ("tests/test_parse.py", '        self.assertEqual(to_int(" 7 "), 7)\n',
                 '        self.assertEqual(to_int(" 7 "), 7)\n        self.assertEqual(to_int("1,200"), 1200)\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from importer.load import load\nload("# stock export\\nB7;stapler;12\\nB8;toner;n/a\\n")\n',
    fix=[("importer/parse.py", "    return int(cleaned)\n",
          "    try:\n        return int(cleaned)\n    except ValueError:\n        return default\n")],
)

E08 = Spec(
    name="e08_boundary_comparison",
    tier="easy",
    kind="< instead of <= (boundary rejected)",
    hard="",
    service="checkout",
    commits=[
        Commit(
            "checkout: discounts",
            {
                "checkout/__init__.py": "",
                "checkout/discounts.py": '''
                    def validate_discount(pct):
                        if not 0 <= pct <= 100:
                            raise ValueError(f"discount out of range: {pct}")
                        return pct


                    def apply_discount(amount_cents, pct):
                        pct = validate_discount(pct)
                        return amount_cents - amount_cents * pct // 100
                ''',
                "checkout/cart.py": '''
                    from checkout.discounts import apply_discount


                    def total(lines, voucher=None):
                        amount = sum(price * qty for price, qty in lines)
                        if voucher:
                            amount = apply_discount(amount, voucher["percent"])
                        return amount
                ''',
                "tests/test_cart.py": '''
                    from checkout.cart import total


                    def test_total():
                        assert total([(250, 2), (100, 1)]) == 600


                    def test_voucher():
                        assert total([(1000, 1)], {"percent": 15}) == 850


                    def test_free_voucher():
                        assert total([(1000, 1)], {"percent": 100}) == 0
                ''',
            },
        ),
        Commit(
            "cart: minimum order value",
            edits=(
                ("checkout/cart.py", "def total(lines, voucher=None):\n",
                 "MINIMUM_CENTS = 0\n\n\ndef total(lines, voucher=None):\n"),
            ),
        ),
        Commit(
            "discounts: tighten validation",
            edits=(
                ("checkout/discounts.py", "def validate_discount(pct):\n    if not 0 <= pct <= 100:\n",
                 "def validate_discount(pct):\n    if isinstance(pct, bool) or not isinstance(pct, int):\n"
                 '        raise TypeError(f"discount must be an int, got {pct!r}")\n    if not 0 <= pct < 100:\n'),
            ),
        ),
        Commit(
            "discounts: tests for validation",
            {
                "tests/test_discounts.py": '''
                    import pytest

                    from checkout.discounts import validate_discount


                    def test_rejects_float():
                        with pytest.raises(TypeError):
                            validate_discount(12.5)


                    def test_rejects_negative():
                        with pytest.raises(ValueError):
                            validate_discount(-1)
                ''',
            },
        ),
    ],
    suspect=2,
    repro='from checkout.cart import total\ntotal([(1999, 1)], {"code": "STAFF-FREE", "percent": 100})\n',
    fix=[("checkout/discounts.py", "not 0 <= pct < 100", "not 0 <= pct <= 100")],
)

CASES = [E01, E02, E03, E04, E05, E06, E07, E08]
