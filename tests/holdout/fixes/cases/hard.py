# ruff: noqa: E501  (the embedded repository sources are data, kept as their authors would write them)
"""Hard: the shapes a whole-commit revert or plain blame gets wrong (see issue 10)."""

from __future__ import annotations

from tests.holdout.fixes.gitrepo import Commit, Spec

H01 = Spec(
    name="h01_newest_with_feature",
    tier="hard",
    kind="missing optional key",
    hard="the regression is the newest commit and it also adds express shipping, which HEAD's tests use",
    service="shipping",
    commits=[
        Commit(
            "shipping: zone based rates",
            {
                "shipping/__init__.py": "",
                "shipping/rates.py": '''
                    ZONES = {"PT": 1, "ES": 1, "FR": 2, "DE": 2}
                    BASE_CENTS = {1: 500, 2: 900, 3: 2500}


                    def zone_for(address):
                        return ZONES.get(address["country"], 3)


                    def base_rate(address, weight_kg):
                        cents = BASE_CENTS[zone_for(address)]
                        if weight_kg > 2:
                            cents += int((weight_kg - 2) * 150)
                        return cents
                ''',
                "shipping/quote.py": '''
                    from shipping.rates import base_rate


                    def quote(address, weight_kg):
                        return {"cents": base_rate(address, weight_kg), "service": "standard"}
                ''',
                "tests/test_quote.py": '''
                    from shipping.quote import quote


                    def test_domestic():
                        assert quote({"country": "PT"}, 1) == {"cents": 500, "service": "standard"}


                    def test_heavy_abroad():
                        assert quote({"country": "US"}, 4)["cents"] == 2800
                ''',
            },
        ),
        Commit(
            "rates: reject non-positive weights",
            edits=(
                ("shipping/rates.py", "    cents = BASE_CENTS[zone_for(address)]\n",
                 '    if weight_kg <= 0:\n        raise ValueError(f"weight must be positive: {weight_kg}")\n'
                 "    cents = BASE_CENTS[zone_for(address)]\n"),
            ),
        ),
        Commit(
            "quote: round to whole cents in the label",
            edits=(
                ("shipping/quote.py", "def quote(address, weight_kg):\n",
                 'def label(q):\n    return f"{q[\'service\']}: {q[\'cents\'] / 100:.2f} EUR"\n\n\n'
                 "def quote(address, weight_kg):\n"),
            ),
        ),
        Commit(
            "Express shipping; island surcharge",
            edits=(
                ("shipping/rates.py", "BASE_CENTS = {1: 500, 2: 900, 3: 2500}\n",
                 'BASE_CENTS = {1: 500, 2: 900, 3: 2500}\nISLAND_REGIONS = {"Azores", "Madeira", "Canarias"}\n'
                 "ISLAND_SURCHARGE_CENTS = 400\nEXPRESS_SURCHARGE_CENTS = 700\n"),
                ("shipping/rates.py", "        cents += int((weight_kg - 2) * 150)\n    return cents\n",
                 "        cents += int((weight_kg - 2) * 150)\n    if remote(address):\n"
                 "        cents += ISLAND_SURCHARGE_CENTS\n    return cents\n\n\n"
                 'def remote(address):\n    return address["region"] in ISLAND_REGIONS\n\n\n'
                 "def express_rate(address, weight_kg):\n    if remote(address):\n"
                 '        raise ValueError("no express delivery to the islands")\n'
                 "    return base_rate(address, weight_kg) + EXPRESS_SURCHARGE_CENTS\n"),
                ("shipping/quote.py", "from shipping.rates import base_rate\n", "from shipping.rates import base_rate, express_rate\n"),
                ("shipping/quote.py",
                 'def quote(address, weight_kg):\n    return {"cents": base_rate(address, weight_kg), "service": "standard"}\n',
                 "def quote(address, weight_kg, express=False):\n    if express:\n"
                 '        return {"cents": express_rate(address, weight_kg), "service": "express"}\n'
                 '    return {"cents": base_rate(address, weight_kg), "service": "standard"}\n'),
                ("tests/test_quote.py", '    assert quote({"country": "US"}, 4)["cents"] == 2800\n',
                 '    assert quote({"country": "US"}, 4)["cents"] == 2800\n\n\n'
                 "def test_express():\n"
                 '    assert quote({"country": "ES", "region": "Madrid"}, 1, express=True) == {"cents": 1200, "service": "express"}\n\n\n'
                 "def test_island_surcharge():\n"
                 '    assert quote({"country": "PT", "region": "Azores"}, 1)["cents"] == 900\n'),
            ),
        ),
    ],
    suspect=3,
    repro='from shipping.quote import quote\nquote({"country": "FR", "city": "Lyon", "postcode": "69002"}, 1.2)\n',
    fix=[("shipping/rates.py", 'address["region"] in ISLAND_REGIONS', 'address.get("region") in ISLAND_REGIONS')],
    must_keep=[("shipping/rates.py", "def express_rate("), ("shipping/rates.py", "ISLAND_SURCHARGE_CENTS"),
               ("shipping/quote.py", "express=False")],
)

H02 = Spec(
    name="h02_feature_used_later",
    tier="hard",
    kind="< instead of <= in a bounds check",
    hard="the regressing commit adds page_count/last_page, which later commits and tests use (revert breaks them)",
    service="search",
    commits=[
        Commit(
            "search: pagination",
            {
                "search/__init__.py": "",
                "search/paginate.py": '''
                    def page(items, number, size):
                        if number < 1:
                            raise IndexError(f"page {number} out of range")
                        start = (number - 1) * size
                        return items[start : start + size]
                ''',
                "search/api.py": '''
                    from search.paginate import page


                    def search(items, query, number=1, size=10):
                        hits = [i for i in items if query.lower() in i["title"].lower()]
                        return {"hits": page(hits, number, size), "total": len(hits)}
                ''',
                "tests/test_api.py": '''
                    from search.api import search

                    DOCS = [{"title": f"Guide {n}"} for n in range(25)] + [{"title": "FAQ"}]


                    def test_first_page():
                        r = search(DOCS, "guide", size=10)
                        assert r["total"] == 25 and len(r["hits"]) == 10


                    def test_last_page():
                        assert [d["title"] for d in search(DOCS, "guide", 3, 10)["hits"]][0] == "Guide 20"
                ''',
            },
        ),
        Commit(
            "api: case-insensitive titles, tests",
            edits=(("tests/test_api.py", "def test_first_page():\n",
                    'def test_case_insensitive():\n    assert search(DOCS, "faq")["total"] == 1\n\n\ndef test_first_page():\n'),),
        ),
        Commit(
            "paginate: page_count and last_page; reject pages past the end",
            {
                "search/paginate.py": '''
                    def page_count(total, size):
                        return max(1, -(-total // size))


                    def page(items, number, size):
                        if not 1 <= number < page_count(len(items), size):
                            raise IndexError(f"page {number} out of range")
                        start = (number - 1) * size
                        return items[start : start + size]


                    def last_page(items, size):
                        return page_count(len(items), size)
                ''',
            },
        ),
        Commit(
            "api: number of pages in the response",
            edits=(
                ("search/api.py", "from search.paginate import page\n", "from search.paginate import page, page_count\n"),
                ("search/api.py", '    return {"hits": page(hits, number, size), "total": len(hits)}\n',
                 '    return {"hits": page(hits, number, size), "total": len(hits), "pages": page_count(len(hits), size)}\n'),
                ("tests/test_api.py", "    assert r[\"total\"] == 25 and len(r[\"hits\"]) == 10\n",
                 "    assert r[\"total\"] == 25 and len(r[\"hits\"]) == 10\n    assert r[\"pages\"] == 3\n"),
            ),
        ),
        Commit(
            "paginate: tests",
            {
                "tests/test_paginate.py": '''
                    import pytest

                    from search.paginate import last_page, page, page_count


                    def test_page_count():
                        assert page_count(0, 10) == 1
                        assert page_count(21, 10) == 3


                    def test_last_page():
                        assert last_page(list(range(21)), 10) == 3


                    def test_past_the_end():
                        with pytest.raises(IndexError):
                            page(list(range(21)), 4, 10)
                ''',
            },
        ),
    ],
    suspect=2,
    repro='from search.api import search\nsearch([{"title": "Release notes 1.0"}, {"title": "Release notes 2.0"}], "release")\n',
    fix=[("search/paginate.py", "1 <= number < page_count", "1 <= number <= page_count")],
    must_keep=[("search/paginate.py", "def last_page("), ("search/api.py", '"pages": page_count')],
)

H03 = Spec(
    name="h03_crash_line_reformatted",
    tier="hard",
    kind="missing optional key",
    hard="a later formatting commit rewrote the crash line, so blame names the reformat; the revert conflicts",
    service="orders",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "orders: totals with coupons",
            {
                "orders/__init__.py": "",
                "orders/pricing.py": """
                    COUPONS = {'WELCOME10': 10, 'VIP25': 25}


                    def subtotal(order):
                        return sum(line['price_cents'] * line['qty'] for line in order['lines'])


                    def order_total(order):
                        gross = subtotal(order)
                        discount = COUPONS.get(order.get('coupon'), 0)
                        return gross - gross * discount // 100
                """,
                "tests/__init__.py": "",
                "tests/test_pricing.py": """
                    import unittest

                    from orders.pricing import order_total

                    LINES = [{'price_cents': 1000, 'qty': 2}]


                    class PricingTest(unittest.TestCase):
                        def test_no_coupon(self):
                            self.assertEqual(order_total({'lines': LINES}), 2000)

                        def test_coupon(self):
                            self.assertEqual(order_total({'lines': LINES, 'coupon': 'VIP25'}), 1500)
                """,
            },
        ),
        Commit(
            "pricing: coupon codes are case-insensitive",
            edits=(("orders/pricing.py", "COUPONS.get(order.get('coupon'), 0)", "COUPONS.get(order['coupon'].strip().upper(), 0)"),),
        ),
        Commit(
            "checkout: place orders",
            {
                "orders/checkout.py": """
                    from orders.pricing import order_total


                    def place(order, payments):
                        amount = order_total(order)
                        payments.append(amount)
                        return {'status': 'placed', 'amount_cents': amount}
                """,
            },
        ),
        Commit(
            "style: format with black (double quotes, wrapped lines)",
            {
                "orders/pricing.py": '''
                    COUPONS = {"WELCOME10": 10, "VIP25": 25}


                    def subtotal(order):
                        return sum(
                            line["price_cents"] * line["qty"] for line in order["lines"]
                        )


                    def order_total(order):
                        gross = subtotal(order)
                        discount = COUPONS.get(
                            order["coupon"].strip().upper(), 0
                        )
                        return gross - gross * discount // 100
                ''',
                "orders/checkout.py": '''
                    from orders.pricing import order_total


                    def place(order, payments):
                        amount = order_total(order)
                        payments.append(amount)
                        return {"status": "placed", "amount_cents": amount}
                ''',
            },
        ),
        Commit(
            "checkout: free shipping over 50 EUR",
            edits=(
                ("orders/checkout.py", "    amount = order_total(order)\n",
                 "    amount = order_total(order)\n    if amount < FREE_SHIPPING_CENTS:\n        amount += SHIPPING_CENTS\n"),
                ("orders/checkout.py", "from orders.pricing import order_total\n",
                 "from orders.pricing import order_total\n\nSHIPPING_CENTS = 490\nFREE_SHIPPING_CENTS = 5000\n"),
            ),
            files={
                "tests/test_checkout.py": """
                    import unittest

                    from orders.checkout import place


                    class CheckoutTest(unittest.TestCase):
                        def test_shipping_added(self):
                            order = {"lines": [{"price_cents": 1000, "qty": 1}], "coupon": " welcome10 "}
                            self.assertEqual(place(order, [])["amount_cents"], 900 + 490)

                        def test_free_shipping(self):
                            order = {"lines": [{"price_cents": 6000, "qty": 1}]}
                            self.assertEqual(place(order, [])["amount_cents"], 6000)
                """,
            },
        ),
    ],
    suspect=1,
    repro='from orders.checkout import place\nplace({"id": 88121, "lines": [{"price_cents": 2490, "qty": 1}]}, [])\n',
    fix=[("orders/pricing.py", 'order["coupon"].strip().upper(), 0', '(order.get("coupon") or "").strip().upper(), 0')],
    must_keep=[("orders/checkout.py", "FREE_SHIPPING_CENTS")],
)

H04 = Spec(
    name="h04_bug_in_caller",
    tier="hard",
    kind="wrong dict key at a call site (None reaches the parser)",
    hard="crash in durations.py, bug in its caller jobs.py; that commit also adds jitter, which later tests use; "
    "later commits touch durations.py",
    service="cron",
    commits=[
        Commit(
            "cron: durations and next run",
            {
                "cron/__init__.py": "",
                "cron/durations.py": '''
                    UNITS = {"s": 1, "m": 60, "h": 3600}


                    def parse_duration(text):
                        text = text.strip().lower()
                        if not text or text[-1] not in UNITS:
                            raise ValueError(f"bad duration: {text!r}")
                        return int(text[:-1]) * UNITS[text[-1]]
                ''',
                "cron/jobs.py": '''
                    from cron.durations import parse_duration


                    def next_run(job, last_run):
                        every = parse_duration(job["every"])
                        return last_run + every
                ''',
                "tests/test_jobs.py": '''
                    from cron.jobs import next_run


                    def test_next_run():
                        assert next_run({"name": "backup", "every": "5m"}, 1000) == 1300
                ''',
            },
        ),
        Commit(
            "durations: tests",
            {
                "tests/test_durations.py": '''
                    import pytest

                    from cron.durations import parse_duration


                    def test_units():
                        assert parse_duration("90s") == 90
                        assert parse_duration(" 2H ") == 7200


                    def test_bad():
                        with pytest.raises(ValueError):
                            parse_duration("soon")
                ''',
            },
        ),
        Commit(
            "jobs: jitter to spread load; 'interval' is the documented key",
            {
                "cron/jobs.py": '''
                    import random

                    from cron.durations import parse_duration


                    def next_run(job, last_run, rng=None):
                        every = parse_duration(job.get("interval"))
                        jitter = job.get("jitter_s", 0)
                        if jitter:
                            every += (rng or random).randint(0, jitter)
                        return last_run + every
                ''',
            },
        ),
        Commit(
            "durations: days",
            edits=(("cron/durations.py", 'UNITS = {"s": 1, "m": 60, "h": 3600}\n', 'UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}\n'),),
        ),
        Commit(
            "durations: clearer error for numbers without a unit",
            edits=(
                ("cron/durations.py", "    text = text.strip().lower()\n",
                 '    text = text.strip().lower()\n    if text.isdigit():\n'
                 '        raise ValueError(f"duration needs a unit (s, m, h, d): {text!r}")\n'),
            ),
        ),
        Commit(
            "jobs: tests for jitter",
            edits=(
                ("tests/test_jobs.py", "from cron.jobs import next_run\n", "import random\n\nfrom cron.jobs import next_run\n"),
                ("tests/test_jobs.py", "== 1300\n",
                 "== 1300\n\n\ndef test_jitter():\n"
                 '    job = {"name": "sync", "interval": "1h", "jitter_s": 30}\n'
                 "    assert 4600 <= next_run(job, 1000, rng=random.Random(7)) <= 4630\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from cron.jobs import next_run\nnext_run({"name": "rotate-logs", "every": "1d"}, 1717400000)\n',
    fix=[("cron/jobs.py", 'parse_duration(job.get("interval"))', 'parse_duration(job.get("interval") or job["every"])')],
    must_keep=[("cron/jobs.py", "jitter_s"), ("cron/durations.py", '"d": 86400')],
)

H05 = Spec(
    name="h05_rename_stale_caller",
    tier="hard",
    kind="renamed function with a stale caller",
    hard="the stale caller's line is untouched by the rename (blame names an old commit); later commits use "
    "get_users, so reverting the rename breaks them",
    service="profiles",
    commits=[
        Commit(
            "profiles: user lookup and API",
            {
                "profiles/__init__.py": "",
                "profiles/users.py": '''
                    class NotFound(Exception):
                        pass


                    def fetch_user(db, user_id):
                        try:
                            return db[user_id]
                        except KeyError:
                            raise NotFound(user_id) from None
                ''',
                "profiles/api.py": '''
                    from profiles import users


                    def show(db, user_id):
                        user = users.fetch_user(db, user_id)
                        return {"id": user_id, "name": user["name"]}
                ''',
                "tests/test_api.py": '''
                    from profiles.api import show

                    DB = {1: {"name": "Ada", "plan": "pro"}, 2: {"name": "Linus", "plan": "free"}}


                    def test_show():
                        assert show(DB, 1) == {"id": 1, "name": "Ada"}
                ''',
            },
        ),
        Commit(
            "reports: plan report",
            {
                "profiles/reports.py": '''
                    from profiles import users


                    def plan_report(db, user_ids):
                        counts = {}
                        for uid in user_ids:
                            plan = users.fetch_user(db, uid)["plan"]
                            counts[plan] = counts.get(plan, 0) + 1
                        return dict(sorted(counts.items()))
                ''',
                "tests/test_reports.py": '''
                    from profiles.reports import plan_report

                    DB = {1: {"name": "Ada", "plan": "pro"}, 2: {"name": "Linus", "plan": "free"}, 3: {"name": "G", "plan": "pro"}}


                    def test_plan_report():
                        assert plan_report(DB, [1, 2, 3]) == {"free": 1, "pro": 2}
                ''',
            },
        ),
        Commit(
            "users: get_user (was fetch_user) and batch get_users",
            {
                "profiles/users.py": '''
                    class NotFound(Exception):
                        pass


                    def get_user(db, user_id):
                        try:
                            return db[user_id]
                        except KeyError:
                            raise NotFound(user_id) from None


                    def get_users(db, user_ids):
                        return [get_user(db, uid) for uid in user_ids]
                ''',
            },
            edits=(("profiles/api.py", "users.fetch_user(db, user_id)", "users.get_user(db, user_id)"),),
        ),
        Commit(
            "api: list several users",
            edits=(
                ("profiles/api.py", '    return {"id": user_id, "name": user["name"]}\n',
                 '    return {"id": user_id, "name": user["name"]}\n\n\n'
                 "def list_names(db, user_ids):\n"
                 '    return [u["name"] for u in users.get_users(db, user_ids)]\n'),
                ("tests/test_api.py", "from profiles.api import show\n", "from profiles.api import list_names, show\n"),
                ("tests/test_api.py", '    assert show(DB, 1) == {"id": 1, "name": "Ada"}\n',
                 '    assert show(DB, 1) == {"id": 1, "name": "Ada"}\n\n\n'
                 'def test_list_names():\n    assert list_names(DB, [2, 1]) == ["Linus", "Ada"]\n'),
            ),
        ),
        Commit(
            "reports: skip unknown users",
            edits=(
                ("profiles/reports.py", "    for uid in user_ids:\n",
                 "    for uid in user_ids:\n        if uid not in db:\n            continue\n"),
            ),
        ),
    ],
    suspect=2,
    repro="from profiles.reports import plan_report\nplan_report({7: {'name': 'Mo', 'plan': 'team'}}, [7])\n",
    fix=[("profiles/reports.py", "users.fetch_user(db, uid)", "users.get_user(db, uid)")],
    must_keep=[("profiles/users.py", "def get_users("), ("profiles/api.py", "def list_names(")],
)

H06 = Spec(
    name="h06_tuple_to_dict",
    tier="hard",
    kind="return type changed by a refactor (tuple -> dict) breaks a caller",
    hard="crash in badges.py, untouched by the refactor; later commits build on the dict (middle names)",
    service="directory",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "directory: names and badges",
            {
                "directory/__init__.py": "",
                "directory/names.py": '''
                    def split_name(full):
                        parts = full.split()
                        return parts[0], parts[-1]


                    def greeting(full):
                        first, _ = split_name(full)
                        return f"Hi {first}"
                ''',
                "directory/badges.py": '''
                    from directory.names import split_name


                    def badge(person):
                        parts = split_name(person["name"])
                        return f"{parts[1].upper()}, {parts[0]} ({person['team']})"
                ''',
                "tests/__init__.py": "",
                "tests/test_badges.py": '''
                    import unittest

                    from directory.badges import badge


                    class BadgeTest(unittest.TestCase):
                        def test_badge(self):
                            self.assertEqual(badge({"name": "Grace Hopper", "team": "compilers"}), "HOPPER, Grace (compilers)")
                ''',
            },
        ),
        Commit(
            "names: greeting tests",
            {
                "tests/test_names.py": '''
                    import unittest

                    from directory.names import greeting


                    class NamesTest(unittest.TestCase):
                        def test_greeting(self):
                            self.assertEqual(greeting("Ada Lovelace"), "Hi Ada")
                ''',
            },
        ),
        Commit(
            "names: split_name returns named parts, with the middle names",
            {
                "directory/names.py": '''
                    def split_name(full):
                        parts = full.split()
                        return {"first": parts[0], "middle": parts[1:-1], "last": parts[-1]}


                    def greeting(full):
                        return f"Hi {split_name(full)['first']}"
                ''',
            },
        ),
        Commit(
            "names: initials",
            edits=(
                ("directory/names.py", "def greeting(full):\n",
                 "def initials(full):\n    n = split_name(full)\n"
                 '    return "".join(p[0] for p in [n["first"], *n["middle"], n["last"]]).upper()\n\n\n'
                 "def greeting(full):\n"),
                ("tests/test_names.py", "from directory.names import greeting\n", "from directory.names import greeting, initials\n"),
                ("tests/test_names.py", '        self.assertEqual(greeting("Ada Lovelace"), "Hi Ada")\n',
                 '        self.assertEqual(greeting("Ada Lovelace"), "Hi Ada")\n\n'
                 '    def test_initials(self):\n        self.assertEqual(initials("John Ronald Reuel Tolkien"), "JRRT")\n'),
            ),
        ),
        Commit(
            "badges: team is optional",
            edits=(("directory/badges.py", "({person['team']})", "({person.get('team', 'guest')})"),),
        ),
    ],
    suspect=2,
    repro='from directory.badges import badge\nbadge({"name": "Katherine Johnson", "team": "orbital"})\n',
    fix=[("directory/badges.py", "{parts[1].upper()}, {parts[0]}", "{parts['last'].upper()}, {parts['first']}")],
    must_keep=[("directory/names.py", '"middle"'), ("directory/names.py", "def initials(")],
)

H07 = Spec(
    name="h07_newest_unit_change",
    tier="hard",
    kind="wrong unit (euros where cents are expected)",
    hard="newest commit; it also adds line discounts (tested at HEAD); the crash is in payments.py",
    service="billing",
    commits=[
        Commit(
            "billing: invoices and payments",
            {
                "billing/__init__.py": "",
                "billing/invoice.py": '''
                    def line_total(line):
                        return line["unit_cents"] * line["qty"]


                    def invoice_total(lines):
                        return sum(line_total(line) for line in lines)
                ''',
                "billing/payments.py": '''
                    from billing.invoice import invoice_total


                    def charge(amount_cents, ledger):
                        if not isinstance(amount_cents, int):
                            raise TypeError(f"amount_cents must be int cents, got {amount_cents!r}")
                        ledger.append(amount_cents)
                        return amount_cents


                    def pay(invoice, ledger):
                        return charge(invoice_total(invoice["lines"]), ledger)
                ''',
                "tests/test_billing.py": '''
                    from billing.payments import pay

                    LINES = [{"unit_cents": 1250, "qty": 2}, {"unit_cents": 399, "qty": 1}]


                    def test_pay():
                        ledger = []
                        assert pay({"lines": LINES}, ledger) == 2899
                        assert ledger == [2899]
                ''',
            },
        ),
        Commit(
            "invoice: tests for totals",
            {
                "tests/test_invoice.py": '''
                    from billing.invoice import invoice_total


                    def test_total():
                        assert invoice_total([{"unit_cents": 100, "qty": 3}]) == 300
                ''',
            },
        ),
        Commit(
            "payments: refuse zero charges",
            edits=(
                ("billing/payments.py", "    ledger.append(amount_cents)\n",
                 '    if amount_cents <= 0:\n        raise ValueError("nothing to charge")\n    ledger.append(amount_cents)\n'),
            ),
        ),
        Commit(
            "invoice: per-line discounts; totals in euros for the PDF",
            {
                "billing/invoice.py": '''
                    def line_total(line):
                        gross = line["unit_cents"] * line["qty"]
                        return gross - gross * line.get("discount_pct", 0) // 100


                    def invoice_total(lines):
                        return sum(line_total(line) for line in lines) / 100


                    def pdf_amount(lines):
                        return f"{invoice_total(lines):.2f} EUR"
                ''',
                "tests/test_discounts.py": '''
                    from billing.invoice import line_total


                    def test_discount():
                        assert line_total({"unit_cents": 1000, "qty": 2, "discount_pct": 15}) == 1700
                ''',
            },
        ),
    ],
    suspect=3,
    repro='from billing.payments import pay\npay({"id": "INV-2024-0412", "lines": [{"unit_cents": 8415, "qty": 1}]}, [])\n',
    fix=[
        ("billing/invoice.py", "    return sum(line_total(line) for line in lines) / 100\n",
         "    return sum(line_total(line) for line in lines)\n"),
        ("billing/invoice.py", '{invoice_total(lines):.2f} EUR', '{invoice_total(lines) / 100:.2f} EUR'),
    ],
    must_keep=[("billing/invoice.py", "discount_pct")],
)

H08 = Spec(
    name="h08_constant_reformatted",
    tier="hard",
    kind="changed default constant (KiB where MiB was meant)",
    hard="the commit also adds per-plan limits used later; the crash line was reformatted afterwards; "
    "the crash (raise) is not the changed line",
    service="uploads",
    commits=[
        Commit(
            "uploads: size limits",
            {
                "uploads/__init__.py": "",
                "uploads/limits.py": """
                    MAX_UPLOAD_BYTES = 25 * 1024 * 1024


                    def check_size(n_bytes, limit=MAX_UPLOAD_BYTES):
                        if n_bytes > limit:
                            raise ValueError('file too large: %d bytes (limit %d)' % (n_bytes, limit))
                        return n_bytes
                """,
                "uploads/store.py": """
                    from uploads.limits import check_size


                    def save(name, data, bucket):
                        check_size(len(data))
                        bucket[name] = data
                        return {'name': name, 'size': len(data)}
                """,
                "tests/test_store.py": """
                    import pytest

                    from uploads.store import save


                    def test_save_photo():
                        bucket = {}
                        assert save("photo.jpg", b"x" * 3_000_000, bucket)["size"] == 3_000_000


                    def test_too_large():
                        with pytest.raises(ValueError):
                            save("disk.img", b"x" * (26 * 1024 * 1024), {})
                """,
            },
        ),
        Commit(
            "store: content hash in the result",
            edits=(
                ("uploads/store.py", "from uploads.limits import check_size\n",
                 "import hashlib\n\nfrom uploads.limits import check_size\n"),
                ("uploads/store.py", "    return {'name': name, 'size': len(data)}\n",
                 "    return {'name': name, 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()}\n"),
            ),
        ),
        Commit(
            "limits: per-plan upload limits",
            {
                "uploads/limits.py": """
                    MAX_UPLOAD_BYTES = 25 * 1024
                    PLAN_LIMITS = {'free': 10 * 1024 * 1024, 'pro': 100 * 1024 * 1024}


                    def limit_for(plan):
                        return PLAN_LIMITS.get(plan, MAX_UPLOAD_BYTES)


                    def check_size(n_bytes, limit=MAX_UPLOAD_BYTES):
                        if n_bytes > limit:
                            raise ValueError('file too large: %d bytes (limit %d)' % (n_bytes, limit))
                        return n_bytes
                """,
            },
        ),
        Commit(
            "style: f-strings and double quotes",
            {
                "uploads/limits.py": '''
                    MAX_UPLOAD_BYTES = 25 * 1024
                    PLAN_LIMITS = {"free": 10 * 1024 * 1024, "pro": 100 * 1024 * 1024}


                    def limit_for(plan):
                        return PLAN_LIMITS.get(plan, MAX_UPLOAD_BYTES)


                    def check_size(n_bytes, limit=MAX_UPLOAD_BYTES):
                        if n_bytes > limit:
                            raise ValueError(f"file too large: {n_bytes} bytes (limit {limit})")
                        return n_bytes
                ''',
            },
            edits=(("uploads/store.py", "    return {'name': name, 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest()}\n",
                    '    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}\n'),),
        ),
        Commit(
            "api: uploads honour the account's plan",
            {
                "uploads/api.py": '''
                    from uploads.limits import check_size, limit_for
                    from uploads.store import save


                    def upload(account, name, data, bucket):
                        check_size(len(data), limit_for(account.get("plan")))
                        return save(name, data, bucket)
                ''',
                "tests/test_api.py": '''
                    import pytest

                    from uploads.api import upload


                    def test_free_plan_limit():
                        with pytest.raises(ValueError):
                            upload({"plan": "free"}, "big.mov", b"x" * (11 * 1024 * 1024), {})


                    def test_pro_plan():
                        assert upload({"plan": "pro"}, "ok.mov", b"x" * 1024, {})["size"] == 1024
                ''',
            },
        ),
    ],
    suspect=2,
    repro='from uploads.store import save\nsave("invoice-scan.pdf", b"%PDF" + b"0" * 480_000, {})\n',
    fix=[("uploads/limits.py", "MAX_UPLOAD_BYTES = 25 * 1024\n", "MAX_UPLOAD_BYTES = 25 * 1024 * 1024\n")],
    must_keep=[("uploads/limits.py", "PLAN_LIMITS"), ("uploads/api.py", "limit_for(")],
)

CASES = [H01, H02, H03, H04, H05, H06, H07, H08]
