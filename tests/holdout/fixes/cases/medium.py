# ruff: noqa: E501  (the embedded repository sources are data, kept as their authors would write them)
"""Medium: the crash is away from the changed line (another line, function or module) or the commit mixes changes."""

from __future__ import annotations

from tests.holdout.fixes.gitrepo import Commit, Spec

M01 = Spec(
    name="m01_unit_ms_vs_s",
    tier="medium",
    kind="wrong unit (milliseconds passed where seconds are expected)",
    hard="crash in client.py, the unit change is in settings.py",
    service="gateway",
    commits=[
        Commit(
            "gateway: settings and client",
            {
                "gateway/__init__.py": "",
                "gateway/settings.py": '''
                    import os

                    DEFAULTS = {"timeout": 5, "retries": 2}


                    def load(env=None):
                        env = os.environ if env is None else env
                        return {
                            "timeout": float(env.get("GATEWAY_TIMEOUT", DEFAULTS["timeout"])),
                            "retries": int(env.get("GATEWAY_RETRIES", DEFAULTS["retries"])),
                        }
                ''',
                "gateway/client.py": '''
                    MAX_TIMEOUT_S = 120


                    class Client:
                        def __init__(self, base_url, timeout):
                            if not 0 < timeout <= MAX_TIMEOUT_S:
                                raise ValueError(f"timeout must be in (0, {MAX_TIMEOUT_S}] seconds, got {timeout}")
                            self.base_url = base_url.rstrip("/")
                            self.timeout = timeout

                        def url(self, path):
                            return f"{self.base_url}/{path.lstrip('/')}"
                ''',
                "tests/test_client.py": '''
                    import pytest

                    from gateway.client import Client


                    def test_url():
                        assert Client("https://api.x.org/", 3).url("/v1/items") == "https://api.x.org/v1/items"


                    def test_rejects_huge_timeout():
                        with pytest.raises(ValueError):
                            Client("https://api.x.org", 600)
                ''',
            },
        ),
        Commit(
            "health: probe the upstream",
            {
                "gateway/health.py": '''
                    from gateway import settings
                    from gateway.client import Client


                    def make_client(base_url, env=None):
                        cfg = settings.load(env)
                        return Client(base_url, timeout=cfg["timeout"])


                    def probe(base_url, env=None):
                        client = make_client(base_url, env)
                        return {"url": client.url("/healthz"), "timeout": client.timeout}
                ''',
                "tests/test_health.py": '''
                    from gateway.health import probe


                    def test_probe_defaults():
                        assert probe("https://api.x.org", env={}) == {"url": "https://api.x.org/healthz", "timeout": 5.0}
                ''',
            },
        ),
        Commit(
            "settings: timeouts in milliseconds, like the rest of the platform",
            {
                "gateway/settings.py": '''
                    import os

                    DEFAULTS = {"timeout_ms": 5000, "retries": 2}


                    def load(env=None):
                        env = os.environ if env is None else env
                        return {
                            "timeout": float(env.get("GATEWAY_TIMEOUT_MS", DEFAULTS["timeout_ms"])),
                            "retries": int(env.get("GATEWAY_RETRIES", DEFAULTS["retries"])),
                        }
                ''',
            },
        ),
        Commit(
            "health: report retries too",
            edits=(
                ("gateway/health.py", '    return {"url": client.url("/healthz"), "timeout": client.timeout}\n',
                 '    retries = settings.load(env)["retries"]\n'
                 '    return {"url": client.url("/healthz"), "timeout": client.timeout, "retries": retries}\n'),
                ("tests/test_health.py", '== {"url": "https://api.x.org/healthz", "timeout": 5.0}\n',
                 '== {\n        "url": "https://api.x.org/healthz",\n        "timeout": 5.0,\n        "retries": 2,\n    }\n'),
            ),
        ),
        Commit(
            "settings: tests for the environment",
            {
                "tests/test_settings.py": '''
                    from gateway.settings import load


                    def test_env_timeout_is_milliseconds():
                        assert load({"GATEWAY_TIMEOUT_MS": "2500"})["timeout"] == 2.5


                    def test_retries():
                        assert load({"GATEWAY_RETRIES": "4"})["retries"] == 4
                ''',
            },
        ),
    ],
    suspect=2,
    repro='from gateway.health import probe\nprobe("https://inventory.internal:8443", env={})\n',
    fix=[("gateway/settings.py", 'DEFAULTS["timeout_ms"])),', 'DEFAULTS["timeout_ms"])) / 1000,')],
    must_keep=[("gateway/settings.py", "GATEWAY_TIMEOUT_MS"), ("gateway/health.py", '"retries": retries')],
)

M02 = Spec(
    name="m02_naive_aware_datetime",
    tier="medium",
    kind="naive vs aware datetime comparison",
    hard="the crash line (comparison) is not the changed line",
    service="auth",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "auth: tokens with expiry",
            {
                "auth/__init__.py": "",
                "auth/tokens.py": '''
                    from datetime import datetime, timedelta, timezone


                    def issue(user, ttl_s=3600, now=None):
                        now = now or datetime.now(timezone.utc)
                        return {"user": user, "expires_at": (now + timedelta(seconds=ttl_s)).isoformat()}


                    def expires_at(token):
                        return datetime.fromisoformat(token["expires_at"])


                    def is_expired(token, now=None):
                        now = now or datetime.now(timezone.utc)
                        return expires_at(token) <= now
                ''',
                "tests/__init__.py": "",
                "tests/test_tokens.py": '''
                    import unittest
                    from datetime import datetime, timedelta, timezone

                    from auth.tokens import is_expired, issue

                    T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


                    class TokenTest(unittest.TestCase):
                        def test_expiry(self):
                            token = issue("ann", ttl_s=60, now=T0)
                            self.assertFalse(is_expired(token, now=T0 + timedelta(seconds=59)))
                            self.assertTrue(is_expired(token, now=T0 + timedelta(seconds=60)))
                ''',
            },
        ),
        Commit(
            "session: current user from the session",
            {
                "auth/session.py": '''
                    from auth.tokens import is_expired


                    def current_user(session):
                        token = session.get("token")
                        if token is None or is_expired(token):
                            return None
                        return token["user"]
                ''',
                "tests/test_session.py": '''
                    import unittest

                    from auth.session import current_user
                    from auth.tokens import issue


                    class SessionTest(unittest.TestCase):
                        def test_anonymous(self):
                            self.assertIsNone(current_user({}))

                        def test_fresh_token(self):
                            self.assertEqual(current_user({"token": issue("bo")}), "bo")
                ''',
            },
        ),
        Commit(
            "tokens: leeway for clock skew; utcnow for clarity",
            edits=(
                ("auth/tokens.py", "def is_expired(token, now=None):\n    now = now or datetime.now(timezone.utc)\n"
                 "    return expires_at(token) <= now\n",
                 "LEEWAY = timedelta(seconds=5)\n\n\ndef is_expired(token, now=None):\n"
                 "    now = now or datetime.utcnow()\n    return expires_at(token) + LEEWAY <= now\n"),
                ("tests/test_tokens.py", "seconds=60)))\n", "seconds=65)))\n"),
            ),
        ),
        Commit(
            "session: refresh tokens close to expiry",
            edits=(
                ("auth/session.py", "from auth.tokens import is_expired\n",
                 "from datetime import timedelta\n\nfrom auth.tokens import is_expired, issue\n"),
                ("auth/session.py", '    return token["user"]\n',
                 '    return token["user"]\n\n\ndef refresh(session, ttl_s=3600):\n'
                 '    user = current_user(session)\n    if user is not None:\n'
                 '        session["token"] = issue(user, ttl_s=ttl_s)\n    return session\n'),
            ),
        ),
    ],
    suspect=2,
    repro=(
        "from auth.session import current_user\n"
        'current_user({"token": {"user": "dana", "expires_at": "2031-01-01T00:00:00+00:00"}})\n'
    ),
    fix=[("auth/tokens.py", "now = now or datetime.utcnow()", "now = now or datetime.now(timezone.utc)")],
    must_keep=[("auth/tokens.py", "LEEWAY"), ("auth/session.py", "def refresh(")],
)

M03 = Spec(
    name="m03_list_to_generator",
    tier="medium",
    kind="return type changed by a refactor (list -> generator) breaks a caller",
    hard="crash in digest.py, the change is in users.py",
    service="crm",
    commits=[
        Commit(
            "crm: active users",
            {
                "crm/__init__.py": "",
                "crm/users.py": '''
                    def active_users(users):
                        return [u for u in users if u.get("active") and not u.get("deleted")]
                ''',
                "tests/test_users.py": '''
                    from crm.users import active_users


                    def test_active():
                        users = [{"name": "a", "active": True}, {"name": "b"}, {"name": "c", "active": True, "deleted": True}]
                        assert [u["name"] for u in active_users(users)] == ["a"]
                ''',
            },
        ),
        Commit(
            "digest: weekly digest mail",
            {
                "crm/digest.py": '''
                    from crm.users import active_users


                    def weekly_digest(users):
                        active = active_users(users)
                        lines = [f"{len(active)} active users"]
                        lines += [f"- {u['name']}" for u in active]
                        return "\\n".join(lines)
                ''',
                "tests/test_digest.py": '''
                    from crm.digest import weekly_digest


                    def test_digest():
                        users = [{"name": "ann", "active": True}, {"name": "bob", "active": True}, {"name": "cy"}]
                        assert weekly_digest(users) == "2 active users\\n- ann\\n- bob"
                ''',
            },
        ),
        Commit(
            "users: stream active users instead of building lists; users by domain",
            {
                "crm/users.py": '''
                    def active_users(users):
                        return (u for u in users if u.get("active") and not u.get("deleted"))


                    def by_domain(users):
                        out = {}
                        for user in active_users(users):
                            domain = user.get("email", "@").split("@", 1)[1] or "unknown"
                            out.setdefault(domain, []).append(user["name"])
                        return out
                ''',
            },
        ),
        Commit(
            "users: tests for by_domain",
            edits=(
                ("tests/test_users.py", "from crm.users import active_users\n", "from crm.users import active_users, by_domain\n"),
                ("tests/test_users.py", '    assert [u["name"] for u in active_users(users)] == ["a"]\n',
                 '    assert [u["name"] for u in active_users(users)] == ["a"]\n\n\n'
                 "def test_by_domain():\n"
                 '    users = [{"name": "a", "active": True, "email": "a@x.org"}, {"name": "b", "active": True}]\n'
                 '    assert by_domain(users) == {"x.org": ["a"], "unknown": ["b"]}\n'),
            ),
        ),
    ],
    suspect=2,
    repro=(
        "from crm.digest import weekly_digest\n"
        'weekly_digest([{"name": "Ines", "active": True}, {"name": "Otto", "active": False}])\n'
    ),
    fix=[("crm/digest.py", "    active = active_users(users)\n", "    active = list(active_users(users))\n")],
    must_keep=[("crm/users.py", "def by_domain(")],
)

M04 = Spec(
    name="m04_stale_dict_key",
    tier="medium",
    kind="wrong dict key after a refactor (producer renamed, one consumer stale)",
    hard="crash line untouched by the bad commit; the commit's renames are used by other tests",
    service="analytics",
    commits=[
        Commit(
            "analytics: order stats",
            {
                "analytics/__init__.py": "",
                "analytics/stats.py": '''
                    def summarize(orders):
                        paid = [o for o in orders if o["status"] == "paid"]
                        return {"count": len(paid), "revenue": sum(o["amount_cents"] for o in paid)}
                ''',
                "analytics/dashboard.py": '''
                    from analytics.stats import summarize


                    def tiles(orders):
                        s = summarize(orders)
                        return [("Orders", str(s["count"])), ("Revenue", f"{s['revenue'] / 100:.2f}")]
                ''',
                "tests/test_dashboard.py": '''
                    from analytics.dashboard import tiles

                    ORDERS = [
                        {"status": "paid", "amount_cents": 1250},
                        {"status": "paid", "amount_cents": 750},
                        {"status": "refunded", "amount_cents": 999},
                    ]


                    def test_tiles():
                        assert tiles(ORDERS) == [("Orders", "2"), ("Revenue", "20.00")]
                ''',
            },
        ),
        Commit(
            "export: CSV line for the finance sheet",
            {
                "analytics/export.py": '''
                    from analytics.stats import summarize


                    def csv_line(day, orders):
                        s = summarize(orders)
                        return f"{day},{s['count']},{s['revenue']}"
                ''',
                "tests/test_export.py": '''
                    from analytics.export import csv_line


                    def test_csv_line():
                        orders = [{"status": "paid", "amount_cents": 500}]
                        assert csv_line("2024-03-01", orders) == "2024-03-01,1,500"
                ''',
            },
        ),
        Commit(
            "stats: explicit key names (orders, revenue_cents) and average basket",
            {
                "analytics/stats.py": '''
                    def summarize(orders):
                        paid = [o for o in orders if o["status"] == "paid"]
                        revenue = sum(o["amount_cents"] for o in paid)
                        return {
                            "orders": len(paid),
                            "revenue_cents": revenue,
                            "average_cents": revenue // len(paid) if paid else 0,
                        }
                ''',
                "analytics/dashboard.py": '''
                    from analytics.stats import summarize


                    def tiles(orders):
                        s = summarize(orders)
                        return [
                            ("Orders", str(s["orders"])),
                            ("Revenue", f"{s['revenue_cents'] / 100:.2f}"),
                            ("Basket", f"{s['average_cents'] / 100:.2f}"),
                        ]
                ''',
            },
            edits=(("tests/test_dashboard.py", '("Revenue", "20.00")]', '("Revenue", "20.00"), ("Basket", "10.00")]'),),
        ),
        Commit(
            "export: revenue in the finance sheet uses the same column order",
            edits=(("analytics/export.py", "def csv_line(day, orders):\n", 'HEADER = "day,orders,revenue_cents"\n\n\ndef csv_line(day, orders):\n'),),
        ),
    ],
    suspect=2,
    repro=(
        "from analytics.export import csv_line\n"
        'csv_line("2024-06-02", [{"status": "paid", "amount_cents": 4200}, {"status": "paid", "amount_cents": 990}])\n'
    ),
    fix=[("analytics/export.py", "{s['count']},{s['revenue']}", "{s['orders']},{s['revenue_cents']}")],
    must_keep=[("analytics/stats.py", '"average_cents"')],
)

M05 = Spec(
    name="m05_sort_reversed",
    tier="medium",
    kind="sorting order reversed (latest picks the oldest)",
    hard="crash in upgrade.py; the commit also adds a newest-first listing its tests rely on",
    service="deployer",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "deployer: releases and upgrade plans",
            {
                "deployer/__init__.py": "",
                "deployer/releases.py": '''
                    def parse_version(text):
                        return tuple(int(part) for part in text.split("."))


                    def latest(releases):
                        return sorted(releases, key=lambda r: parse_version(r["version"]))[-1]
                ''',
                "deployer/upgrade.py": '''
                    from deployer.releases import latest, parse_version


                    def plan_upgrade(current, releases):
                        target = latest(releases)
                        if parse_version(target["version"]) < parse_version(current):
                            raise ValueError(f"refusing to downgrade from {current} to {target['version']}")
                        return {"from": current, "to": target["version"]}
                ''',
                "tests/__init__.py": "",
                "tests/test_upgrade.py": '''
                    import unittest

                    from deployer.upgrade import plan_upgrade

                    RELEASES = [{"version": "1.2.0"}, {"version": "1.10.1"}, {"version": "1.9.0"}]


                    class UpgradeTest(unittest.TestCase):
                        def test_plan(self):
                            self.assertEqual(plan_upgrade("1.9.0", RELEASES), {"from": "1.9.0", "to": "1.10.1"})
                ''',
            },
        ),
        Commit(
            "upgrade: no-op plans",
            edits=(
                ("deployer/upgrade.py", '    return {"from": current, "to": target["version"]}\n',
                 '    return {"from": current, "to": target["version"], "noop": target["version"] == current}\n'),
                ("tests/test_upgrade.py", '{"from": "1.9.0", "to": "1.10.1"})\n',
                 '{"from": "1.9.0", "to": "1.10.1", "noop": False})\n'),
            ),
        ),
        Commit(
            "releases: newest-first listing for the release page",
            {
                "deployer/releases.py": '''
                    def parse_version(text):
                        return tuple(int(part) for part in text.split("."))


                    def ordered(releases):
                        """Newest first."""
                        return sorted(releases, key=lambda r: parse_version(r["version"]), reverse=True)


                    def latest(releases):
                        return ordered(releases)[-1]


                    def listing(releases):
                        return [r["version"] for r in ordered(releases)]
                ''',
                "tests/test_releases.py": '''
                    import unittest

                    from deployer.releases import listing


                    class ReleasesTest(unittest.TestCase):
                        def test_listing(self):
                            self.assertEqual(listing([{"version": "1.2.0"}, {"version": "1.10.1"}]), ["1.10.1", "1.2.0"])
                ''',
            },
        ),
        Commit(
            "releases: ignore yanked releases",
            edits=(
                ("deployer/releases.py", "    return sorted(releases, key",
                 '    releases = [r for r in releases if not r.get("yanked")]\n    return sorted(releases, key'),
            ),
        ),
    ],
    suspect=2,
    repro=(
        "from deployer.upgrade import plan_upgrade\n"
        'plan_upgrade("2.3.1", [{"version": "2.3.1"}, {"version": "2.4.0"}, {"version": "2.2.9"}])\n'
    ),
    fix=[("deployer/releases.py", "return ordered(releases)[-1]", "return ordered(releases)[0]")],
    must_keep=[("deployer/releases.py", "def listing("), ("deployer/releases.py", "yanked")],
)

M06 = Spec(
    name="m06_early_return",
    tier="medium",
    kind="early return added (field never set)",
    hard="KeyError in publish.py, the early return is in normalize.py",
    service="cms",
    commits=[
        Commit(
            "cms: normalize posts",
            {
                "cms/__init__.py": "",
                "cms/normalize.py": '''
                    import re


                    def slugify(title):
                        return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


                    def normalize(record):
                        record = dict(record)
                        record["title"] = record["title"].strip()
                        record["slug"] = slugify(record["title"])
                        record["tags"] = sorted({t.lower() for t in record.get("tags", [])})
                        return record
                ''',
                "tests/test_normalize.py": '''
                    from cms.normalize import normalize


                    def test_normalize():
                        rec = normalize({"title": " Hello, World ", "tags": ["B", "a", "b"]})
                        assert rec["slug"] == "hello-world"
                        assert rec["tags"] == ["a", "b"]
                ''',
            },
        ),
        Commit(
            "publish: permalinks",
            {
                "cms/publish.py": '''
                    from cms.normalize import normalize


                    def permalink(record):
                        rec = normalize(record)
                        return f"/posts/{rec['slug']}"
                ''',
                "tests/test_publish.py": '''
                    from cms.publish import permalink


                    def test_permalink():
                        assert permalink({"title": "Release notes 2.0"}) == "/posts/release-notes-2-0"


                    def test_draft_preview_link():
                        assert permalink({"title": "Soon", "draft": True}) == "/posts/soon"
                ''',
            },
        ),
        Commit(
            "normalize: word count; skip tag work for drafts",
            edits=(
                ("cms/normalize.py", '    record["title"] = record["title"].strip()\n',
                 '    record["title"] = record["title"].strip()\n'
                 '    record["words"] = len(record.get("body", "").split())\n'
                 '    if record.get("draft"):\n        return record\n'),
            ),
        ),
        Commit(
            "normalize: tests for word count",
            edits=(
                ("tests/test_normalize.py", '    assert rec["tags"] == ["a", "b"]\n',
                 '    assert rec["tags"] == ["a", "b"]\n\n\ndef test_words():\n'
                 '    assert normalize({"title": "t", "body": "one two  three"})["words"] == 3\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from cms.publish import permalink\npermalink({"title": "Roadmap Q3", "draft": True, "body": "tbd"})\n',
    fix=[("cms/normalize.py", '    if record.get("draft"):\n        return record\n', "")],
    must_keep=[("cms/normalize.py", 'record["words"]')],
)

M07 = Spec(
    name="m07_shared_default_mutated",
    tier="medium",
    kind="mutated default argument (shared defaults leak between calls)",
    hard="the error appears on the second call, in jobs.py, far from the mutation in options.py",
    service="scheduler",
    test_command="python -m unittest -q",
    commits=[
        Commit(
            "scheduler: option merging and job submission",
            {
                "scheduler/__init__.py": "",
                "scheduler/options.py": '''
                    DEFAULTS = {"retries": 3, "timeout_s": 30, "queue": "default"}


                    def merge_options(overrides, base=DEFAULTS):
                        opts = dict(base)
                        opts.update(overrides)
                        return opts
                ''',
                "scheduler/jobs.py": '''
                    from scheduler.options import merge_options

                    CRITICAL_MAX_TIMEOUT_S = 10


                    def validate(opts):
                        if opts["queue"] == "critical" and opts["timeout_s"] > CRITICAL_MAX_TIMEOUT_S:
                            raise ValueError(f"critical jobs must time out within 10 s, got {opts['timeout_s']}")
                        return opts


                    def submit(name, **overrides):
                        return {"name": name, **validate(merge_options(overrides))}
                ''',
                "tests/__init__.py": "",
                "tests/test_jobs.py": '''
                    import unittest

                    from scheduler.jobs import submit


                    class JobsTest(unittest.TestCase):
                        def test_defaults(self):
                            self.assertEqual(submit("a")["queue"], "default")

                        def test_critical_then_report(self):
                            submit("page-oncall", queue="critical", timeout_s=5)
                            job = submit("nightly-report", timeout_s=120)
                            self.assertEqual((job["queue"], job["timeout_s"]), ("default", 120))

                        def test_critical_limit(self):
                            with self.assertRaises(ValueError):
                                submit("x", queue="critical", timeout_s=60)
                ''',
            },
        ),
        Commit(
            "jobs: priority per queue",
            edits=(
                ("scheduler/jobs.py", "CRITICAL_MAX_TIMEOUT_S = 10\n",
                 'CRITICAL_MAX_TIMEOUT_S = 10\nPRIORITY = {"critical": 0, "default": 5}\n'),
            ),
        ),
        Commit(
            "options: avoid copying option dicts on every submit; drop unknown keys",
            {
                "scheduler/options.py": '''
                    DEFAULTS = {"retries": 3, "timeout_s": 30, "queue": "default"}


                    def merge_options(overrides, base=DEFAULTS):
                        unknown = set(overrides) - set(base)
                        if unknown:
                            raise TypeError(f"unknown options: {sorted(unknown)}")
                        base.update(overrides)
                        return base
                ''',
            },
        ),
        Commit(
            "options: test unknown keys",
            {
                "tests/test_options.py": '''
                    import unittest

                    from scheduler.options import merge_options


                    class OptionsTest(unittest.TestCase):
                        def test_unknown(self):
                            with self.assertRaises(TypeError):
                                merge_options({"colour": "red"})
                ''',
            },
        ),
    ],
    suspect=2,
    repro=(
        "from scheduler.jobs import submit\n"
        'submit("page-oncall", queue="critical", timeout_s=5)\n'
        'submit("nightly-report", timeout_s=120)\n'
    ),
    fix=[("scheduler/options.py", "    base.update(overrides)\n    return base\n",
          "    opts = dict(base)\n    opts.update(overrides)\n    return opts\n")],
    must_keep=[("scheduler/options.py", "unknown options")],
)

M08 = Spec(
    name="m08_signature_reordered",
    tier="medium",
    kind="parameter order changed, one caller in another module not updated",
    hard="the stale caller (fees.py) is not touched by the regressing commit; the crash is in accounts.py",
    service="ledger",
    commits=[
        Commit(
            "ledger: accounts",
            {
                "ledger/__init__.py": "",
                "ledger/accounts.py": '''
                    class InsufficientFunds(Exception):
                        pass


                    def deposit(account, amount):
                        account["balance"] += amount
                        return account


                    def withdraw(amount, account):
                        if account["balance"] < amount:
                            raise InsufficientFunds(account["id"])
                        account["balance"] -= amount
                        return account
                ''',
                "tests/test_accounts.py": '''
                    import pytest

                    from ledger.accounts import InsufficientFunds, deposit, withdraw


                    def test_deposit_withdraw():
                        acct = {"id": "a", "balance": 0}
                        deposit(acct, 500)
                        assert withdraw(200, acct)["balance"] == 300


                    def test_insufficient():
                        with pytest.raises(InsufficientFunds):
                            withdraw(1, {"id": "a", "balance": 0})
                ''',
            },
        ),
        Commit(
            "transfers and monthly fees",
            {
                "ledger/transfers.py": '''
                    from ledger.accounts import deposit, withdraw


                    def transfer(src, dst, amount):
                        withdraw(amount, src)
                        deposit(dst, amount)
                        return src["balance"], dst["balance"]
                ''',
                "ledger/fees.py": '''
                    from ledger.accounts import withdraw

                    MONTHLY_FEE_CENTS = 250


                    def charge_monthly_fee(account):
                        fee = 0 if account.get("premium") else MONTHLY_FEE_CENTS
                        return withdraw(fee, account)
                ''',
                "tests/test_transfers.py": '''
                    from ledger.fees import charge_monthly_fee
                    from ledger.transfers import transfer


                    def test_transfer():
                        assert transfer({"id": "a", "balance": 100}, {"id": "b", "balance": 0}, 40) == (60, 40)


                    def test_fee():
                        assert charge_monthly_fee({"id": "a", "balance": 1000})["balance"] == 750
                ''',
            },
        ),
        Commit(
            "accounts: account first, like deposit()",
            edits=(
                ("ledger/accounts.py", "def withdraw(amount, account):\n", "def withdraw(account, amount):\n"),
                ("ledger/transfers.py", "    withdraw(amount, src)\n", "    withdraw(src, amount)\n"),
                ("tests/test_accounts.py", "withdraw(200, acct)", "withdraw(acct, 200)"),
                ("tests/test_accounts.py", 'withdraw(1, {"id": "a", "balance": 0})', 'withdraw({"id": "a", "balance": 0}, 1)'),
            ),
        ),
        Commit(
            "accounts: history of movements",
            edits=(
                ("ledger/accounts.py", '    account["balance"] += amount\n',
                 '    account["balance"] += amount\n    account.setdefault("history", []).append(amount)\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from ledger.fees import charge_monthly_fee\ncharge_monthly_fee({"id": "acct-1093", "balance": 12000})\n',
    fix=[("ledger/fees.py", "withdraw(fee, account)", "withdraw(account, fee)")],
)

CASES = [M01, M02, M03, M04, M05, M06, M07, M08]
