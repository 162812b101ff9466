# ruff: noqa: E501  (the embedded repository sources are data, kept as their authors would write them)
"""Heldout split of the blind fix set: report aggregate figures only; do not tune the engine on these."""

from __future__ import annotations

from tests.holdout.fixes.gitrepo import Commit, Spec

X01 = Spec(
    name="x01_cache_hit_returns_none",
    tier="heldout",
    kind="a path returns None (cache hit falls off the end of the function)",
    hard="only the second conversion of a currency fails; TypeError in convert.py, the missing return is in rates.py",
    service="fx",
    commits=[
        Commit(
            "fx: rates and conversion",
            {
                "fx/__init__.py": "",
                "fx/rates.py": '''
                    RATES = {"USD": 1.08, "GBP": 0.85, "CHF": 0.96, "JPY": 162.0}


                    def rate(currency):
                        if currency == "EUR":
                            return 1.0
                        try:
                            return RATES[currency]
                        except KeyError:
                            raise ValueError(f"unknown currency {currency}") from None
                ''',
                "fx/convert.py": '''
                    from fx.rates import rate


                    def convert(eur_cents, currency):
                        return round(eur_cents * rate(currency))
                ''',
                "tests/test_convert.py": '''
                    import pytest

                    from fx.convert import convert


                    def test_usd():
                        assert convert(1000, "USD") == 1080


                    def test_unknown():
                        with pytest.raises(ValueError):
                            convert(1, "XXX")
                ''',
            },
        ),
        Commit(
            "format: money formatting per currency",
            {
                "fx/format.py": '''
                    SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF ", "JPY": "¥"}
                    NO_DECIMALS = {"JPY"}


                    def minor_units(currency):
                        return 0 if currency in NO_DECIMALS else 2


                    def format_amount(minor, currency):
                        symbol = SYMBOLS.get(currency, currency + " ")
                        digits = minor_units(currency)
                        if digits == 0:
                            return f"{symbol}{minor:,}"
                        sign = "-" if minor < 0 else ""
                        whole, frac = divmod(abs(minor), 10**digits)
                        return f"{sign}{symbol}{whole:,}.{frac:0{digits}d}"


                    def parse_amount(text, currency):
                        cleaned = text.replace(SYMBOLS.get(currency, ""), "").replace(",", "").strip()
                        digits = minor_units(currency)
                        if "." not in cleaned:
                            return int(cleaned) * 10**digits
                        whole, frac = cleaned.split(".")
                        return int(whole) * 10**digits + int(frac.ljust(digits, "0")[:digits])
                ''',
                "tests/test_format.py": '''
                    from fx.format import format_amount, parse_amount


                    def test_format():
                        assert format_amount(123456, "EUR") == "€1,234.56"
                        assert format_amount(-5, "USD") == "-$0.05"
                        assert format_amount(1500, "JPY") == "¥1,500"


                    def test_parse():
                        assert parse_amount("€1,234.5", "EUR") == 123450
                        assert parse_amount("¥1,500", "JPY") == 1500
                ''',
            },
        ),
        Commit(
            "convert: whole yen (no minor units)",
            edits=(
                ("fx/convert.py", "from fx.rates import rate\n", "from fx.format import minor_units\nfrom fx.rates import rate\n"),
                ("fx/convert.py", "    return round(eur_cents * rate(currency))\n",
                 "    amount = eur_cents * rate(currency)\n    if minor_units(currency) == 0:\n        return round(amount / 100)\n    return round(amount)\n"),
                ("tests/test_convert.py", "def test_unknown():\n", 'def test_yen():\n    assert convert(1000, "JPY") == 1620\n\n\ndef test_unknown():\n'),
            ),
        ),
        Commit(
            "convert: price lists",
            edits=(
                ("fx/convert.py", "def convert(eur_cents, currency):\n",
                 "def price_list(items, currency):\n"
                 '    return {name: convert(cents, currency) for name, cents in items.items()}\n\n\n'
                 "def convert(eur_cents, currency):\n"),
            ),
        ),
        Commit(
            "rates: cache lookups and count hits/misses",
            {
                "fx/rates.py": '''
                    RATES = {"USD": 1.08, "GBP": 0.85, "CHF": 0.96, "JPY": 162.0}

                    _cache = {}
                    stats = {"hits": 0, "misses": 0}


                    def _lookup(currency):
                        try:
                            return RATES[currency]
                        except KeyError:
                            raise ValueError(f"unknown currency {currency}") from None


                    def rate(currency):
                        if currency == "EUR":
                            return 1.0
                        if currency not in _cache:
                            stats["misses"] += 1
                            _cache[currency] = _lookup(currency)
                            return _cache[currency]
                        stats["hits"] += 1


                    def clear_cache():
                        _cache.clear()
                        stats.update(hits=0, misses=0)
                ''',
            },
        ),
        Commit(
            "report: cache statistics",
            {
                "fx/report.py": '''
                    from fx.rates import stats


                    def cache_line():
                        total = stats["hits"] + stats["misses"]
                        ratio = stats["hits"] / total if total else 0.0
                        return f"rate cache: {stats['hits']} hits, {stats['misses']} misses ({ratio:.0%})"
                ''',
                "tests/test_report.py": '''
                    from fx.rates import clear_cache, rate
                    from fx.report import cache_line


                    def test_cache_line_counts_a_miss():
                        clear_cache()
                        rate("GBP")
                        assert cache_line() == "rate cache: 0 hits, 1 misses (0%)"
                ''',
            },
        ),
        Commit(
            "convert: tests for price lists",
            edits=(
                ("tests/test_convert.py", "def test_unknown():\n",
                 'def test_price_list():\n    from fx.convert import price_list\n\n'
                 '    assert price_list({"tea": 500, "mug": 1000}, "GBP") == {"tea": 425, "mug": 850}\n\n\n'
                 "def test_unknown():\n"),
            ),
        ),
    ],
    suspect=4,
    repro='from fx.convert import price_list\nprice_list({"espresso": 250, "croissant": 320, "bagel": 410}, "CHF")\n',
    fix=[("fx/rates.py", '    stats["hits"] += 1\n', '    stats["hits"] += 1\n    return _cache[currency]\n')],
    must_keep=[("fx/rates.py", "def clear_cache("), ("fx/report.py", "def cache_line(")],
)

X02 = Spec(
    name="x02_shallow_config_merge",
    tier="heldout",
    kind="shallow merge of a nested config (user section replaces the whole default section)",
    hard="KeyError in cache.py; the merge is in config.py, in a commit that also adds environment overrides used later; 8 commits",
    service="profile-svc",
    commits=[
        Commit(
            "svc: configuration with nested defaults",
            {
                "svc/__init__.py": "",
                "svc/config.py": '''
                    import copy

                    DEFAULTS = {
                        "cache": {"backend": "memory", "ttl": 300, "max_items": 1000},
                        "http": {"timeout": 5.0, "retries": 2},
                        "service": {"name": "profiles"},
                    }


                    def merge(base, override):
                        out = copy.deepcopy(base)
                        for key, value in override.items():
                            if isinstance(value, dict) and isinstance(out.get(key), dict):
                                out[key] = merge(out[key], value)
                            else:
                                out[key] = value
                        return out


                    def load(user=None):
                        return merge(DEFAULTS, user or {})
                ''',
                "svc/cache.py": '''
                    import time


                    class Cache:
                        def __init__(self, section):
                            self.backend = section["backend"]
                            self.ttl = float(section["ttl"])
                            self.max_items = int(section["max_items"])
                            self._data = {}

                        def put(self, key, value, now=None):
                            now = time.monotonic() if now is None else now
                            if len(self._data) >= self.max_items:
                                self._data.pop(next(iter(self._data)))
                            self._data[key] = (now + self.ttl, value)

                        def get(self, key, now=None):
                            now = time.monotonic() if now is None else now
                            expires, value = self._data.get(key, (0, None))
                            return value if expires > now else None
                ''',
                "svc/app.py": '''
                    from svc.cache import Cache
                    from svc.config import load


                    def build(user_config=None):
                        cfg = load(user_config)
                        return {"name": cfg["service"]["name"], "cache": Cache(cfg["cache"]), "http": cfg["http"]}
                ''',
                "tests/test_app.py": '''
                    from svc.app import build


                    def test_defaults():
                        app = build()
                        assert app["cache"].ttl == 300 and app["http"]["retries"] == 2


                    def test_partial_override_keeps_other_defaults():
                        app = build({"cache": {"backend": "redis"}, "http": {"timeout": 1}})
                        assert app["cache"].backend == "redis" and app["cache"].ttl == 300
                        assert app["http"] == {"timeout": 1, "retries": 2}
                ''',
            },
        ),
        Commit(
            "cache: tests for expiry",
            {
                "tests/test_cache.py": '''
                    from svc.cache import Cache


                    def test_expiry():
                        c = Cache({"backend": "memory", "ttl": 10, "max_items": 5})
                        c.put("a", 1, now=0)
                        assert c.get("a", now=5) == 1 and c.get("a", now=11) is None


                    def test_eviction():
                        c = Cache({"backend": "memory", "ttl": 10, "max_items": 1})
                        c.put("a", 1, now=0)
                        c.put("b", 2, now=0)
                        assert c.get("a", now=1) is None
                ''',
            },
        ),
        Commit(
            "http: client settings",
            {
                "svc/http.py": '''
                    class HttpSettings:
                        def __init__(self, section):
                            self.timeout = float(section["timeout"])
                            self.retries = int(section["retries"])

                        def backoff(self):
                            return [0.1 * 2**n for n in range(self.retries)]
                ''',
            },
            edits=(
                ("svc/app.py", "from svc.config import load\n", "from svc.config import load\nfrom svc.http import HttpSettings\n"),
                ("svc/app.py", '"http": cfg["http"]}', '"http": HttpSettings(cfg["http"])}'),
                ("tests/test_app.py", 'app["http"]["retries"] == 2', 'app["http"].retries == 2'),
                ("tests/test_app.py", '    assert app["http"] == {"timeout": 1, "retries": 2}\n',
                 '    assert (app["http"].timeout, app["http"].retries) == (1.0, 2)\n'),
            ),
        ),
        Commit(
            "config: environment overrides (SVC_<SECTION>_<KEY>); simpler merge",
            {
                "svc/config.py": '''
                    import os

                    DEFAULTS = {
                        "cache": {"backend": "memory", "ttl": 300, "max_items": 1000},
                        "http": {"timeout": 5.0, "retries": 2},
                        "service": {"name": "profiles"},
                    }


                    def from_env(env):
                        out = {}
                        for name, value in env.items():
                            if not name.startswith("SVC_"):
                                continue
                            section, _, key = name[4:].lower().partition("_")
                            if section in DEFAULTS and key:
                                out.setdefault(section, {})[key] = value
                        return out


                    def load(user=None, env=None):
                        env = os.environ if env is None else env
                        cfg = {**DEFAULTS, **(user or {})}
                        for section, values in from_env(env).items():
                            cfg[section] = {**cfg[section], **values}
                        return cfg
                ''',
            },
        ),
        Commit(
            "config: tests for environment overrides",
            {
                "tests/test_config.py": '''
                    from svc.config import from_env, load


                    def test_from_env():
                        assert from_env({"SVC_HTTP_TIMEOUT": "9", "HOME": "/root"}) == {"http": {"timeout": "9"}}


                    def test_env_wins():
                        assert load(env={"SVC_CACHE_TTL": "60"})["cache"]["ttl"] == "60"
                ''',
            },
        ),
        Commit(
            "http: cap retries",
            edits=(
                ("svc/http.py", "        self.retries = int(section[\"retries\"])\n",
                 "        self.retries = min(int(section[\"retries\"]), MAX_RETRIES)\n"),
                ("svc/http.py", "class HttpSettings:\n", "MAX_RETRIES = 5\n\n\nclass HttpSettings:\n"),
            ),
        ),
        Commit(
            "app: service name from the environment too",
            edits=(
                ("svc/app.py", "def build(user_config=None):\n    cfg = load(user_config)\n",
                 "def build(user_config=None, env=None):\n    cfg = load(user_config, env)\n"),
                ("tests/test_app.py", "    app = build()\n", "    app = build(env={})\n"),
                ("tests/test_app.py", 'app = build({"cache": {"backend": "redis"}, "http": {"timeout": 1}})',
                 'app = build({"cache": {"backend": "redis"}, "http": {"timeout": 1}}, env={})'),
            ),
        ),
        Commit(
            "app: test the env service name",
            edits=(
                ("tests/test_app.py", "def test_defaults():\n",
                 'def test_env_name():\n    assert build(env={"SVC_SERVICE_NAME": "p2"})["name"] == "p2"\n\n\ndef test_defaults():\n'),
            ),
        ),
    ],
    suspect=3,
    repro='from svc.app import build\nbuild({"cache": {"backend": "redis", "url": "redis://cache-1:6379/0"}}, env={})\n',
    fix=[("svc/config.py", "    cfg = {**DEFAULTS, **(user or {})}\n",
          "    cfg = {section: dict(values) for section, values in DEFAULTS.items()}\n"
          "    for section, values in (user or {}).items():\n"
          "        cfg[section] = {**cfg.get(section, {}), **values} if isinstance(values, dict) else values\n")],
    must_keep=[("svc/config.py", "def from_env("), ("svc/http.py", "MAX_RETRIES"), ("svc/app.py", "env=None")],
)

X03 = Spec(
    name="x03_default_encoding_ascii",
    tier="heldout",
    kind="wrong default text encoding (ascii) for uploaded files",
    hard="UnicodeDecodeError in textutil.py; the default is set in settings.py by a commit that also adds cp1252 support used later",
    service="contacts-import",
    commits=[
        Commit(
            "contacts: CSV upload",
            {
                "contacts/__init__.py": "",
                "contacts/textutil.py": '''
                    def decode(data):
                        text = data.decode("utf-8")
                        return text.lstrip("\\ufeff")
                ''',
                "contacts/reader.py": '''
                    import csv
                    import io

                    from contacts.textutil import decode


                    def read_contacts(data):
                        rows = csv.DictReader(io.StringIO(decode(data)))
                        return [{"name": r["name"].strip(), "email": r["email"].strip().lower()} for r in rows]
                ''',
                "tests/test_reader.py": '''
                    from contacts.reader import read_contacts


                    def test_read():
                        data = "name,email\\nAna,ANA@x.org\\nJosé Núñez,jose@x.org\\n".encode()
                        assert read_contacts(data)[1] == {"name": "José Núñez", "email": "jose@x.org"}
                ''',
            },
        ),
        Commit(
            "reader: skip rows without an email",
            edits=(
                ("contacts/reader.py", '    return [{"name": r["name"].strip(), "email": r["email"].strip().lower()} for r in rows]\n',
                 '    return [{"name": r["name"].strip(), "email": r["email"].strip().lower()} for r in rows if r["email"].strip()]\n'),
            ),
        ),
        Commit(
            "reader: exports from the legacy CRM are cp1252; encoding is configurable",
            {
                "contacts/settings.py": '''
                    DEFAULT_ENCODING = "ascii"
                    KNOWN_ENCODINGS = ("ascii", "utf-8", "cp1252")
                ''',
                "contacts/textutil.py": '''
                    from contacts.settings import DEFAULT_ENCODING, KNOWN_ENCODINGS


                    def decode(data, encoding=None):
                        encoding = encoding or DEFAULT_ENCODING
                        if encoding not in KNOWN_ENCODINGS:
                            raise ValueError(f"unsupported encoding {encoding}")
                        text = data.decode(encoding)
                        return text.lstrip("\\ufeff")
                ''',
            },
            edits=(
                ("contacts/reader.py", "def read_contacts(data):\n    rows = csv.DictReader(io.StringIO(decode(data)))\n",
                 "def read_contacts(data, encoding=None):\n    rows = csv.DictReader(io.StringIO(decode(data, encoding)))\n"),
            ),
        ),
        Commit(
            "reader: tests for cp1252 exports",
            edits=(
                ("tests/test_reader.py", "def test_read():\n",
                 'def test_cp1252():\n    data = "name,email\\nFrançois,f@x.org\\n".encode("cp1252")\n'
                 '    assert read_contacts(data, "cp1252")[0]["name"] == "François"\n\n\ndef test_read():\n'),
            ),
        ),
        Commit(
            "dedupe: merge contacts by email",
            {
                "contacts/dedupe.py": '''
                    def dedupe(contacts):
                        seen = {}
                        for c in contacts:
                            seen.setdefault(c["email"], c)
                        return list(seen.values())
                ''',
                "tests/test_dedupe.py": '''
                    from contacts.dedupe import dedupe


                    def test_dedupe():
                        assert len(dedupe([{"email": "a@x"}, {"email": "a@x"}, {"email": "b@x"}])) == 2
                ''',
            },
        ),
        Commit(
            "reader: strip a UTF-8 BOM written by spreadsheet apps (test)",
            edits=(
                ("tests/test_reader.py", "def test_read():\n",
                 'def test_bom():\n    data = "\\ufeffname,email\\nAna,a@x.org\\n".encode("utf-8")\n'
                 '    assert read_contacts(data, "utf-8")[0]["name"] == "Ana"\n\n\ndef test_read():\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from contacts.reader import read_contacts\nread_contacts("name,email\\nBjörk Guðmundsdóttir,bjork@label.is\\nZoë Ortega,zoe@ortega.es\\n".encode("utf-8"))\n',
    fix=[("contacts/settings.py", 'DEFAULT_ENCODING = "ascii"', 'DEFAULT_ENCODING = "utf-8"')],
    must_keep=[("contacts/settings.py", '"cp1252"'), ("contacts/reader.py", "encoding=None"), ("contacts/dedupe.py", "def dedupe(")],
)

X04 = Spec(
    name="x04_path_join_absolute_key",
    tier="heldout",
    kind="path joining with a key that now starts with '/' (os.path.join drops the root)",
    hard="ValueError in storage.py's root check; the leading slash comes from keys.py, which later commits and tests rely on for URLs",
    service="blob-store",
    commits=[
        Commit(
            "blobs: local blob storage",
            {
                "blobs/__init__.py": "",
                "blobs/keys.py": '''
                    def normalize_key(key):
                        parts = [p for p in key.replace("\\\\", "/").split("/") if p not in ("", ".")]
                        if not parts or ".." in parts:
                            raise ValueError(f"bad key: {key!r}")
                        return "/".join(parts)
                ''',
                "blobs/storage.py": '''
                    import os

                    from blobs.keys import normalize_key


                    class Storage:
                        def __init__(self, root):
                            self.root = os.path.abspath(root)

                        def _path(self, key):
                            path = os.path.abspath(os.path.join(self.root, normalize_key(key)))
                            if not path.startswith(self.root + os.sep):
                                raise ValueError(f"key escapes the storage root: {key!r} -> {path}")
                            return path

                        def put(self, key, data):
                            path = self._path(key)
                            os.makedirs(os.path.dirname(path), exist_ok=True)
                            with open(path, "wb") as fh:
                                fh.write(data)
                            return normalize_key(key)

                        def get(self, key):
                            with open(self._path(key), "rb") as fh:
                                return fh.read()
                ''',
                "tests/test_storage.py": '''
                    from blobs.storage import Storage


                    def test_roundtrip(tmp_path):
                        s = Storage(tmp_path)
                        s.put("invoices/2024/a.pdf", b"%PDF")
                        assert s.get("./invoices//2024/a.pdf") == b"%PDF"
                ''',
            },
        ),
        Commit(
            "urls: public URLs through the CDN",
            {
                "blobs/urls.py": '''
                    from blobs.keys import normalize_key

                    CDN = "https://cdn.example.org"


                    def public_url(key):
                        return CDN + "/" + normalize_key(key)
                ''',
            },
        ),
        Commit(
            "storage: list keys under a prefix",
            edits=(
                ("blobs/storage.py", "    def get(self, key):\n",
                 "    def keys(self, prefix=\"\"):\n        found = []\n"
                 "        for folder, _, files in os.walk(self.root):\n            for name in files:\n"
                 "                rel = os.path.relpath(os.path.join(folder, name), self.root).replace(os.sep, \"/\")\n"
                 "                found.append(normalize_key(rel))\n"
                 "        return sorted(k for k in found if k.startswith(prefix))\n\n"
                 "    def get(self, key):\n"),
            ),
        ),
        Commit(
            "meta: content types and size limits",
            {
                "blobs/meta.py": '''
                    import posixpath

                    TYPES = {
                        ".png": "image/png",
                        ".jpg": "image/jpeg",
                        ".jpeg": "image/jpeg",
                        ".pdf": "application/pdf",
                        ".csv": "text/csv",
                        ".json": "application/json",
                    }
                    LIMITS = {"image": 5 * 1024 * 1024, "application": 20 * 1024 * 1024, "text": 1024 * 1024}


                    def content_type(key):
                        return TYPES.get(posixpath.splitext(key.lower())[1], "application/octet-stream")


                    def check_size(key, size):
                        family = content_type(key).split("/")[0]
                        limit = LIMITS.get(family, LIMITS["application"])
                        if size > limit:
                            raise ValueError(f"{key}: {size} bytes is over the {family} limit of {limit}")
                        return size
                ''',
                "tests/test_meta.py": '''
                    import pytest

                    from blobs.meta import check_size, content_type


                    def test_types():
                        assert content_type("A/B.PNG") == "image/png"
                        assert content_type("notes") == "application/octet-stream"


                    def test_limit():
                        with pytest.raises(ValueError):
                            check_size("a.csv", 2 * 1024 * 1024)
                ''',
            },
        ),
        Commit(
            "storage: enforce size limits on put",
            edits=(
                ("blobs/storage.py", "from blobs.keys import normalize_key\n", "from blobs.keys import normalize_key\nfrom blobs.meta import check_size\n"),
                ("blobs/storage.py", "        path = self._path(key)\n", "        check_size(key, len(data))\n        path = self._path(key)\n"),
            ),
        ),
        Commit(
            "keys: canonical keys start with a slash, like the CDN paths",
            edits=(
                ("blobs/keys.py", '    return "/".join(parts)\n', '    return "/" + "/".join(parts)\n'),
                ("blobs/urls.py", 'return CDN + "/" + normalize_key(key)', "return CDN + normalize_key(key)"),
            ),
            files={
                "tests/test_keys.py": '''
                    import pytest

                    from blobs.keys import normalize_key


                    def test_canonical():
                        assert normalize_key("a//b/./c.txt") == "/a/b/c.txt"


                    def test_dotdot():
                        with pytest.raises(ValueError):
                            normalize_key("a/../../etc/passwd")
                ''',
            },
        ),
        Commit(
            "urls: signed URLs",
            edits=(
                ("blobs/urls.py", "from blobs.keys import normalize_key\n",
                 "import hashlib\n\nfrom blobs.keys import normalize_key\n"),
                ("blobs/urls.py", "def public_url(key):\n",
                 "def signed_url(key, secret, expires):\n    path = normalize_key(key)\n"
                 "    token = hashlib.sha256(f\"{secret}:{path}:{expires}\".encode()).hexdigest()[:16]\n"
                 "    return f\"{CDN}{path}?e={expires}&t={token}\"\n\n\n"
                 "def public_url(key):\n"),
            ),
            files={
                "tests/test_urls.py": '''
                    from blobs.urls import public_url, signed_url


                    def test_public():
                        assert public_url("img/logo.png") == "https://cdn.example.org/img/logo.png"


                    def test_signed():
                        assert signed_url("img/logo.png", "k", 99).startswith("https://cdn.example.org/img/logo.png?e=99&t=")
                ''',
            },
        ),
        Commit(
            "storage: test listing",
            edits=(
                ("tests/test_storage.py", "def test_roundtrip(tmp_path):\n",
                 "def test_keys(tmp_path):\n    s = Storage(tmp_path)\n"
                 "    (tmp_path / \"img\").mkdir()\n    (tmp_path / \"img\" / \"a.png\").write_bytes(b\"x\")\n"
                 "    assert s.keys(\"/img\") == [\"/img/a.png\"]\n\n\n"
                 "def test_roundtrip(tmp_path):\n"),
            ),
        ),
        Commit(
            "storage: delete",
            edits=(
                ("blobs/storage.py", "    def get(self, key):\n",
                 "    def delete(self, key):\n        os.remove(self._path(key))\n\n    def get(self, key):\n"),
            ),
        ),
    ],
    suspect=5,
    repro='from blobs.storage import Storage\nStorage("/tmp/blob-store-prod").put("avatars/2024/06/u-8812.png", b"\\x89PNG")\n',
    fix=[("blobs/storage.py", "os.path.join(self.root, normalize_key(key)))", 'os.path.join(self.root, normalize_key(key).lstrip("/")))')],
    must_keep=[("blobs/keys.py", 'return "/" + "/".join(parts)'), ("blobs/urls.py", "def signed_url("), ("blobs/storage.py", "def delete(")],
)

X05 = Spec(
    name="x05_future_not_resolved",
    tier="heldout",
    kind="sync-to-thread-pool refactor: a function now returns a Future, one caller indexes it directly",
    hard="TypeError in audit.py, which the refactoring commit did not touch; later commits build on the futures",
    service="geo-enrich",
    commits=[
        Commit(
            "geo: IP lookups",
            {
                "geo/__init__.py": "",
                "geo/lookup.py": '''
                    TABLE = {
                        "81.2.69": {"country": "GB", "city": "London"},
                        "89.160.20": {"country": "SE", "city": "Linköping"},
                        "2.125.160": {"country": "GB", "city": "Boxford"},
                    }


                    def lookup(ip):
                        prefix = ".".join(ip.split(".")[:3])
                        return TABLE.get(prefix, {"country": "ZZ", "city": "unknown"})
                ''',
                "geo/enrich.py": '''
                    from geo.lookup import lookup


                    def enrich(events):
                        for event in events:
                            event["country"] = lookup(event["ip"])["country"]
                        return events
                ''',
                "tests/test_enrich.py": '''
                    from geo.enrich import enrich


                    def test_enrich():
                        assert enrich([{"ip": "81.2.69.142"}])[0]["country"] == "GB"
                ''',
            },
        ),
        Commit(
            "audit: login location in the audit log",
            {
                "geo/audit.py": '''
                    from geo.lookup import lookup


                    def login_line(user, ip):
                        place = lookup(ip)
                        return f"{user} logged in from {place['city']}, {place['country']}"
                ''',
                "tests/test_audit.py": '''
                    from geo.audit import login_line


                    def test_login_line():
                        assert login_line("ana", "89.160.20.112") == "ana logged in from Linköping, SE"
                ''',
            },
        ),
        Commit(
            "lookup: resolve in a thread pool (the database client blocks)",
            {
                "geo/lookup.py": '''
                    from concurrent.futures import ThreadPoolExecutor

                    TABLE = {
                        "81.2.69": {"country": "GB", "city": "London"},
                        "89.160.20": {"country": "SE", "city": "Linköping"},
                        "2.125.160": {"country": "GB", "city": "Boxford"},
                    }

                    _pool = ThreadPoolExecutor(max_workers=4)


                    def _resolve(ip):
                        prefix = ".".join(ip.split(".")[:3])
                        return TABLE.get(prefix, {"country": "ZZ", "city": "unknown"})


                    def lookup(ip):
                        """Start a lookup; returns a Future of the location."""
                        return _pool.submit(_resolve, ip)
                ''',
                "geo/enrich.py": '''
                    from geo.lookup import lookup


                    def enrich(events):
                        futures = [lookup(event["ip"]) for event in events]
                        for event, future in zip(events, futures):
                            event["country"] = future.result()["country"]
                        return events
                ''',
            },
        ),
        Commit(
            "enrich: city too, and a timeout per lookup",
            edits=(
                ("geo/enrich.py", "def enrich(events):\n", "def enrich(events, timeout=2.0):\n"),
                ("geo/enrich.py", '        event["country"] = future.result()["country"]\n',
                 '        place = future.result(timeout=timeout)\n        event["country"], event["city"] = place["country"], place["city"]\n'),
                ("tests/test_enrich.py", '    assert enrich([{"ip": "81.2.69.142"}])[0]["country"] == "GB"\n',
                 '    assert enrich([{"ip": "81.2.69.142"}, {"ip": "10.0.0.1"}])[1] == {"ip": "10.0.0.1", "country": "ZZ", "city": "unknown"}\n'),
            ),
        ),
        Commit(
            "enrich: count events per country",
            edits=(
                ("geo/enrich.py", "def enrich(events, timeout=2.0):\n",
                 "def by_country(events):\n    counts = {}\n    for event in enrich(events):\n"
                 '        counts[event["country"]] = counts.get(event["country"], 0) + 1\n    return counts\n\n\n'
                 "def enrich(events, timeout=2.0):\n"),
            ),
            files={
                "tests/test_counts.py": '''
                    from geo.enrich import by_country


                    def test_by_country():
                        assert by_country([{"ip": "81.2.69.1"}, {"ip": "2.125.160.216"}, {"ip": "89.160.20.1"}]) == {"GB": 2, "SE": 1}
                ''',
            },
        ),
        Commit(
            "audit: mask the IP",
            edits=(
                ("geo/audit.py", "def login_line(user, ip):\n",
                 'def mask(ip):\n    return ".".join(ip.split(".")[:3] + ["x"])\n\n\ndef login_line(user, ip):\n'),
            ),
        ),
    ],
    suspect=2,
    repro='from geo.audit import login_line\nlogin_line("c.wei@example.org", "2.125.160.216")\n',
    fix=[("geo/audit.py", "    place = lookup(ip)\n", "    place = lookup(ip).result()\n")],
    must_keep=[("geo/lookup.py", "ThreadPoolExecutor"), ("geo/enrich.py", "def by_country("), ("geo/audit.py", "def mask(")],
)

X06 = Spec(
    name="x06_split_without_maxsplit",
    tier="heldout",
    kind="str.split lost its maxsplit (a header value containing ':' no longer unpacks)",
    hard="later commits rewrite other lines of the same function (multi-value headers), so a plain revert conflicts",
    service="edge-proxy",
    commits=[
        Commit(
            "proxy: raw header parsing",
            {
                "proxy/__init__.py": "",
                "proxy/headers.py": '''
                    def parse_headers(raw):
                        headers = {}
                        for line in raw.split("\\r\\n"):
                            if not line:
                                break
                            name, value = line.split(":", 1)
                            headers[name.lower()] = value.strip()
                        return headers
                ''',
                "proxy/route.py": '''
                    from proxy.headers import parse_headers

                    BACKENDS = {"api.local": "10.0.0.5", "www.local": "10.0.0.6"}


                    def backend_for(raw):
                        host = parse_headers(raw).get("host", "")
                        return BACKENDS.get(host.split(":")[0], "10.0.0.1")
                ''',
                "tests/test_route.py": '''
                    from proxy.route import backend_for


                    def test_default():
                        assert backend_for("accept: */*\\r\\n\\r\\n") == "10.0.0.1"
                ''',
            },
        ),
        Commit(
            "headers: trim header names too (clients send 'Accept : */*')",
            edits=(
                ("proxy/headers.py", "        name, value = line.split(\":\", 1)\n        headers[name.lower()] = value.strip()\n",
                 "        name, value = [part.strip() for part in line.split(\":\")]\n        headers[name.lower()] = value\n"),
            ),
            files={
                "tests/test_headers.py": '''
                    from proxy.headers import parse_headers


                    def test_case_insensitive():
                        assert parse_headers("Accept : */*\\r\\n\\r\\n") == {"accept": "*/*"}
                ''',
            },
        ),
        Commit(
            "headers: repeated headers are joined with commas",
            edits=(
                ("proxy/headers.py", "        headers[name.lower()] = value\n",
                 "        key = name.lower()\n        headers[key] = f\"{headers[key]}, {value}\" if key in headers else value\n"),
                ("tests/test_headers.py", "def test_case_insensitive():\n",
                 'def test_repeated():\n    assert parse_headers("Via: a\\r\\nVia: b\\r\\n\\r\\n") == {"via": "a, b"}\n\n\ndef test_case_insensitive():\n'),
            ),
        ),
        Commit(
            "headers: ignore obsolete folded lines",
            edits=(
                ("proxy/headers.py", "        if not line:\n            break\n",
                 "        if not line:\n            break\n        if line[0] in \" \\t\":\n            continue\n"),
            ),
        ),
        Commit(
            "route: tests with a Host header and a port",
            edits=(
                ("tests/test_route.py", "def test_default():\n",
                 'def test_host_with_port():\n    assert backend_for("Host: api.local:8443\\r\\n\\r\\n") == "10.0.0.5"\n\n\ndef test_default():\n'),
            ),
        ),
    ],
    suspect=1,
    repro='from proxy.route import backend_for\nbackend_for("Host: www.local:8080\\r\\nUser-Agent: curl/8.5.0\\r\\nAccept: */*\\r\\n\\r\\n")\n',
    fix=[("proxy/headers.py", 'for part in line.split(":")]', 'for part in line.split(":", 1)]')],
    must_keep=[("proxy/headers.py", "name.lower()"), ("proxy/headers.py", 'f"{headers[key]}, {value}"'), ("proxy/headers.py", 'in " \\t"')],
)

X07 = Spec(
    name="x07_enum_not_json_serializable",
    tier="heldout",
    kind="string constants turned into an Enum; the JSON serializer cannot encode it",
    hard="TypeError in api.py's json.dumps, untouched by the change in status.py; later commits use the Enum's transitions",
    service="helpdesk",
    commits=[
        Commit(
            "tickets: model and JSON API",
            {
                "tickets/__init__.py": "",
                "tickets/status.py": '''
                    OPEN = "open"
                    PENDING = "pending"
                    CLOSED = "closed"
                ''',
                "tickets/model.py": '''
                    from tickets import status


                    class Ticket:
                        def __init__(self, tid, title):
                            self.tid = tid
                            self.title = title
                            self.status = status.OPEN

                        def close(self):
                            self.status = status.CLOSED
                ''',
                "tickets/api.py": '''
                    import json


                    def to_json(ticket):
                        return json.dumps({"id": ticket.tid, "title": ticket.title, "status": ticket.status})
                ''',
                "tests/test_api.py": '''
                    import json

                    from tickets.api import to_json
                    from tickets.model import Ticket


                    def test_json():
                        assert json.loads(to_json(Ticket(1, "Printer"))) == {"id": 1, "title": "Printer", "status": "open"}
                ''',
            },
        ),
        Commit(
            "api: list endpoint",
            edits=(
                ("tickets/api.py", "def to_json(ticket):\n",
                 "def to_dict(ticket):\n    return {\"id\": ticket.tid, \"title\": ticket.title, \"status\": ticket.status}\n\n\n"
                 "def list_json(tickets):\n    return json.dumps([to_dict(t) for t in tickets])\n\n\n"
                 "def to_json(ticket):\n"),
                ("tickets/api.py", '    return json.dumps({"id": ticket.tid, "title": ticket.title, "status": ticket.status})\n',
                 "    return json.dumps(to_dict(ticket))\n"),
            ),
        ),
        Commit(
            "search: filter and rank tickets",
            {
                "tickets/search.py": '''
                    import re

                    WORD = re.compile(r"[a-z0-9]+")


                    def words(text):
                        return set(WORD.findall(text.lower()))


                    def matches(ticket, query):
                        wanted = words(query)
                        return bool(wanted) and wanted <= words(ticket.title)


                    def search(tickets, query, limit=20):
                        hits = [t for t in tickets if matches(t, query)]
                        hits.sort(key=lambda t: (-getattr(t, "priority", 0), t.tid))
                        return hits[:limit]


                    def summary(tickets):
                        counts = {}
                        for t in tickets:
                            counts[str(t.status)] = counts.get(str(t.status), 0) + 1
                        return counts
                ''',
                "tests/test_search.py": '''
                    from tickets.model import Ticket
                    from tickets.search import search


                    def test_search():
                        tickets = [Ticket(1, "Printer jam on floor 2"), Ticket(2, "VPN drops"), Ticket(3, "printer toner")]
                        assert [t.tid for t in search(tickets, "printer")] == [1, 3]
                        assert search(tickets, "") == []
                ''',
            },
        ),
        Commit(
            "model: priority (0-3)",
            edits=(
                ("tickets/model.py", "    def __init__(self, tid, title):\n", "    def __init__(self, tid, title, priority=0):\n"),
                ("tickets/model.py", "        self.title = title\n",
                 "        self.title = title\n        if not 0 <= priority <= 3:\n            raise ValueError(f\"priority out of range: {priority}\")\n        self.priority = priority\n"),
            ),
        ),
        Commit(
            "status: an Enum with allowed transitions",
            {
                "tickets/status.py": '''
                    from enum import Enum


                    class Status(Enum):
                        OPEN = "open"
                        PENDING = "pending"
                        CLOSED = "closed"


                    TRANSITIONS = {
                        Status.OPEN: {Status.PENDING, Status.CLOSED},
                        Status.PENDING: {Status.OPEN, Status.CLOSED},
                        Status.CLOSED: {Status.OPEN},
                    }


                    def can_move(current, target):
                        return target in TRANSITIONS[current]
                ''',
                "tickets/model.py": '''
                    from tickets.status import Status, can_move


                    class Ticket:
                        def __init__(self, tid, title, priority=0):
                            self.tid = tid
                            self.title = title
                            if not 0 <= priority <= 3:
                                raise ValueError(f"priority out of range: {priority}")
                            self.priority = priority
                            self.status = Status.OPEN

                        def move(self, target):
                            if not can_move(self.status, target):
                                raise ValueError(f"cannot move from {self.status.value} to {target.value}")
                            self.status = target

                        def close(self):
                            self.move(Status.CLOSED)
                ''',
            },
        ),
        Commit(
            "model: tests for transitions",
            {
                "tests/test_model.py": '''
                    import pytest

                    from tickets.model import Ticket
                    from tickets.status import Status


                    def test_reopen():
                        t = Ticket(1, "x")
                        t.close()
                        t.move(Status.OPEN)
                        assert t.status is Status.OPEN


                    def test_closed_to_pending_is_refused():
                        t = Ticket(1, "x")
                        t.close()
                        with pytest.raises(ValueError):
                            t.move(Status.PENDING)
                ''',
            },
        ),
        Commit(
            "api: assignee field",
            edits=(
                ("tickets/model.py", "        self.status = Status.OPEN\n", "        self.status = Status.OPEN\n        self.assignee = None\n"),
                ("tickets/api.py", '"status": ticket.status}', '"status": ticket.status, "assignee": ticket.assignee}'),
                ("tests/test_api.py", '{"id": 1, "title": "Printer", "status": "open"}', '{"id": 1, "title": "Printer", "status": "open", "assignee": None}'),
            ),
        ),
        Commit(
            "api: test the list endpoint",
            edits=(
                ("tests/test_api.py", "def test_json():\n",
                 "def test_list():\n    from tickets.api import list_json\n\n"
                 '    t = Ticket(2, "VPN")\n    t.close()\n    assert json.loads(list_json([t]))[0]["status"] == "closed"\n\n\n'
                 "def test_json():\n"),
            ),
        ),
    ],
    suspect=4,
    repro='from tickets.api import list_json\nfrom tickets.model import Ticket\nlist_json([Ticket(4412, "Laptop will not boot"), Ticket(4413, "Badge reader offline")])\n',
    fix=[("tickets/api.py", '"status": ticket.status, "assignee"', '"status": ticket.status.value, "assignee"')],
    must_keep=[("tickets/status.py", "def can_move("), ("tickets/model.py", "def move(self, target)"), ("tickets/api.py", '"assignee"')],
)

X08 = Spec(
    name="x08_dataclass_not_orderable",
    tier="heldout",
    kind="namedtuple replaced by a dataclass; sorted() on the objects no longer works",
    hard="TypeError in scheduler.py, untouched by the change in models.py; later commits use the new timeout and tags fields",
    service="job-runner",
    commits=[
        Commit(
            "jobs: priority scheduler",
            {
                "jobs/__init__.py": "",
                "jobs/models.py": '''
                    from collections import namedtuple

                    Job = namedtuple("Job", "priority name")
                ''',
                "jobs/scheduler.py": '''
                    class Scheduler:
                        def __init__(self):
                            self.queue = []

                        def submit(self, job):
                            self.queue.append(job)

                        def order(self):
                            return [job.name for job in sorted(self.queue)]
                ''',
                "tests/test_scheduler.py": '''
                    from jobs.models import Job
                    from jobs.scheduler import Scheduler


                    def test_order():
                        s = Scheduler()
                        for job in (Job(2, "report"), Job(1, "backup"), Job(2, "cleanup")):
                            s.submit(job)
                        assert s.order() == ["backup", "cleanup", "report"]
                ''',
            },
        ),
        Commit(
            "scheduler: pop the next job",
            edits=(
                ("jobs/scheduler.py", "    def order(self):\n",
                 "    def pop(self):\n        job = sorted(self.queue)[0]\n        self.queue.remove(job)\n        return job\n\n"
                 "    def order(self):\n"),
            ),
        ),
        Commit(
            "models: Job is a dataclass with a timeout",
            {
                "jobs/models.py": '''
                    from dataclasses import dataclass


                    @dataclass
                    class Job:
                        priority: int
                        name: str
                        timeout: float = 60.0

                        def __post_init__(self):
                            if self.timeout <= 0:
                                raise ValueError(f"timeout must be positive: {self.timeout}")
                ''',
            },
        ),
        Commit(
            "models: tags",
            edits=(
                ("jobs/models.py", "from dataclasses import dataclass\n", "from dataclasses import dataclass, field\n"),
                ("jobs/models.py", "    timeout: float = 60.0\n", "    timeout: float = 60.0\n    tags: list = field(default_factory=list)\n"),
            ),
            files={
                "tests/test_models.py": '''
                    import pytest

                    from jobs.models import Job


                    def test_defaults():
                        assert Job(1, "x").timeout == 60.0 and Job(1, "x").tags == []


                    def test_bad_timeout():
                        with pytest.raises(ValueError):
                            Job(1, "x", timeout=0)
                ''',
            },
        ),
        Commit(
            "scheduler: total timeout budget of the queue",
            edits=(
                ("jobs/scheduler.py", "    def order(self):\n",
                 "    def budget(self):\n        return sum(job.timeout for job in self.queue)\n\n    def order(self):\n"),
                ("tests/test_scheduler.py", "def test_order():\n",
                 'def test_budget():\n    s = Scheduler()\n    s.submit(Job(1, "a", timeout=30))\n    s.submit(Job(1, "b"))\n'
                 "    assert s.budget() == 90\n\n\ndef test_order():\n"),
            ),
        ),
        Commit(
            "scheduler: only jobs with a tag",
            edits=(
                ("jobs/scheduler.py", "    def order(self):\n",
                 "    def tagged(self, tag):\n        return [job for job in self.queue if tag in job.tags]\n\n    def order(self):\n"),
            ),
        ),
        Commit(
            "retry: backoff policy for failed jobs",
            {
                "jobs/retry.py": '''
                    from dataclasses import dataclass


                    @dataclass(frozen=True)
                    class RetryPolicy:
                        attempts: int = 3
                        base: float = 2.0
                        cap: float = 300.0

                        def delays(self):
                            return [min(self.base**n, self.cap) for n in range(1, self.attempts + 1)]

                        def total(self):
                            return sum(self.delays())


                    def policy_for(job):
                        if "critical" in job.tags:
                            return RetryPolicy(attempts=5)
                        if "best-effort" in job.tags:
                            return RetryPolicy(attempts=0)
                        return RetryPolicy()
                ''',
                "tests/test_retry.py": '''
                    from jobs.models import Job
                    from jobs.retry import RetryPolicy, policy_for


                    def test_delays():
                        assert RetryPolicy(attempts=3).delays() == [2.0, 4.0, 8.0]
                        assert RetryPolicy(attempts=10, cap=100).delays()[-1] == 100


                    def test_policy_for_tags():
                        assert policy_for(Job(1, "x", tags=["critical"])).attempts == 5
                        assert policy_for(Job(1, "x")).attempts == 3
                ''',
            },
        ),
        Commit(
            "scheduler: worst-case budget includes retries",
            edits=(
                ("jobs/scheduler.py", "class Scheduler:\n", "from jobs.retry import policy_for\n\n\nclass Scheduler:\n"),
                ("jobs/scheduler.py", "    def order(self):\n",
                 "    def worst_case(self):\n        return sum(job.timeout * (1 + policy_for(job).attempts) + policy_for(job).total() for job in self.queue)\n\n"
                 "    def order(self):\n"),
                ("tests/test_scheduler.py", "def test_order():\n",
                 'def test_worst_case():\n    s = Scheduler()\n    s.submit(Job(1, "a", timeout=10, tags=["best-effort"]))\n'
                 "    assert s.worst_case() == 10\n\n\ndef test_order():\n"),
            ),
        ),
        Commit(
            "models: describe()",
            edits=(
                ("jobs/models.py", "    def __post_init__(self):\n",
                 "    def describe(self):\n        tags = \",\".join(self.tags) or \"-\"\n"
                 "        return f\"{self.name} (p{self.priority}, {self.timeout:g}s, tags={tags})\"\n\n    def __post_init__(self):\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from jobs.models import Job\nfrom jobs.scheduler import Scheduler\ns = Scheduler()\ns.submit(Job(5, "rotate-logs"))\ns.submit(Job(1, "nightly-backup", timeout=900))\ns.pop()\n',
    fix=[("jobs/scheduler.py", "job = sorted(self.queue)[0]", "job = sorted(self.queue, key=lambda j: (j.priority, j.name))[0]"),
         ("jobs/scheduler.py", "for job in sorted(self.queue)]", "for job in sorted(self.queue, key=lambda j: (j.priority, j.name))]")],
    must_keep=[("jobs/models.py", "timeout: float = 60.0"), ("jobs/scheduler.py", "def tagged("), ("jobs/scheduler.py", "def budget("),
               ("jobs/scheduler.py", "def worst_case("), ("jobs/models.py", "def describe(")],
)

X09 = Spec(
    name="x09_export_format_changed",
    tier="heldout",
    kind="serialization format changed on one side (exporter writes 12.50, importer parses int cents)",
    hard="ValueError in importer.py; the format change is in export.py, whose later commits and tests depend on the euro format",
    service="ledger-backup",
    commits=[
        Commit(
            "ledger: CSV export and import",
            {
                "ledger/__init__.py": "",
                "ledger/export.py": '''
                    import csv
                    import io

                    FIELDS = ["date", "account", "amount"]


                    def export(entries):
                        out = io.StringIO()
                        writer = csv.DictWriter(out, FIELDS, lineterminator="\\n")
                        writer.writeheader()
                        for e in entries:
                            writer.writerow({"date": e["date"], "account": e["account"], "amount": e["cents"]})
                        return out.getvalue()
                ''',
                "ledger/importer.py": '''
                    import csv
                    import io


                    def import_csv(text):
                        entries = []
                        for row in csv.DictReader(io.StringIO(text)):
                            entries.append({"date": row["date"], "account": row["account"], "cents": int(row["amount"])})
                        return entries
                ''',
                "ledger/backup.py": '''
                    from ledger.export import export
                    from ledger.importer import import_csv


                    def roundtrip(entries):
                        return import_csv(export(entries))
                ''',
                "tests/test_backup.py": '''
                    from ledger.backup import roundtrip

                    ENTRIES = [{"date": "2024-05-01", "account": "rent", "cents": -120000}, {"date": "2024-05-02", "account": "sales", "cents": 4550}]


                    def test_roundtrip():
                        assert roundtrip(ENTRIES) == ENTRIES
                ''',
            },
        ),
        Commit(
            "importer: skip blank accounts",
            edits=(
                ("ledger/importer.py", "        entries.append(", "        if not row[\"account\"].strip():\n            continue\n        entries.append("),
            ),
        ),
        Commit(
            "export: amounts in euros with two decimals (the accountants read these files)",
            edits=(
                ("ledger/export.py", '"amount": e["cents"]})', '"amount": f"{e[\'cents\'] / 100:.2f}"})'),
            ),
            files={
                "tests/test_export.py": '''
                    from ledger.export import export


                    def test_euros():
                        assert export([{"date": "2024-05-02", "account": "sales", "cents": 4550}]).splitlines()[1] == "2024-05-02,sales,45.50"
                ''',
            },
        ),
        Commit(
            "export: currency column",
            edits=(
                ("ledger/export.py", 'FIELDS = ["date", "account", "amount"]', 'FIELDS = ["date", "account", "amount", "currency"]'),
                ("ledger/export.py", ':.2f}"})', ':.2f}", "currency": e.get("currency", "EUR")})'),
                ("tests/test_export.py", '"2024-05-02,sales,45.50"', '"2024-05-02,sales,45.50,EUR"'),
            ),
        ),
        Commit(
            "export: sort by date",
            edits=(
                ("ledger/export.py", "    for e in entries:\n", '    for e in sorted(entries, key=lambda e: e["date"]):\n'),
            ),
        ),
        Commit(
            "backup: file helpers",
            edits=(
                ("ledger/backup.py", "def roundtrip(entries):\n",
                 "def save(path, entries):\n    with open(path, \"w\", encoding=\"utf-8\") as fh:\n        fh.write(export(entries))\n\n\n"
                 "def load(path):\n    with open(path, encoding=\"utf-8\") as fh:\n        return import_csv(fh.read())\n\n\n"
                 "def roundtrip(entries):\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from ledger.backup import save, load\nimport os, tempfile\npath = os.path.join(tempfile.mkdtemp(), "ledger-2024-05.csv")\nsave(path, [{"date": "2024-05-03", "account": "payroll", "cents": -845000}])\nload(path)\n',
    fix=[("ledger/importer.py", "import csv\nimport io\n", "import csv\nimport io\nfrom decimal import Decimal\n"),
         ("ledger/importer.py", 'int(row["amount"])', 'int(Decimal(row["amount"]) * 100)')],
    must_keep=[("ledger/export.py", ':.2f}"'), ("ledger/export.py", '"currency"'), ("ledger/backup.py", "def save(")],
)

X10 = Spec(
    name="x10_sort_in_place_returns_none",
    tier="heldout",
    kind="list.sort() result assigned (None) in an in-place refactor",
    hard="TypeError in report.py; the assignment is in query.py, whose later commit changes the sort key (a revert conflicts)",
    service="sales-report",
    commits=[
        Commit(
            "sales: ranking and report",
            {
                "sales/__init__.py": "",
                "sales/query.py": '''
                    def totals(orders):
                        out = {}
                        for order in orders:
                            out[order["customer"]] = out.get(order["customer"], 0) + order["cents"]
                        return out


                    def ranked(orders):
                        return sorted(totals(orders).items(), key=lambda kv: kv[1], reverse=True)
                ''',
                "sales/report.py": '''
                    from sales.query import ranked


                    def top(orders, n=3):
                        return [f"{name}: {cents / 100:.2f}" for name, cents in ranked(orders)[:n]]
                ''',
                "tests/test_report.py": '''
                    from sales.report import top

                    ORDERS = [{"customer": "acme", "cents": 5000}, {"customer": "globex", "cents": 9000}, {"customer": "acme", "cents": 4500}]


                    def test_top():
                        assert top(ORDERS) == ["acme: 95.00", "globex: 90.00"]
                ''',
            },
        ),
        Commit(
            "report: CSV output",
            edits=(
                ("sales/report.py", "def top(orders, n=3):\n",
                 "def csv_lines(orders):\n    return [f\"{name},{cents}\" for name, cents in ranked(orders)]\n\n\ndef top(orders, n=3):\n"),
            ),
        ),
        Commit(
            "query: orders in a date range",
            edits=(
                ("sales/query.py", "def totals(orders):\n",
                 "def between(orders, start, end):\n    return [o for o in orders if start <= o.get(\"date\", start) <= end]\n\n\ndef totals(orders):\n"),
            ),
            files={
                "tests/test_query.py": '''
                    from sales.query import between, totals


                    def test_between():
                        orders = [{"date": "2024-01-05", "customer": "a", "cents": 1}, {"date": "2024-02-01", "customer": "b", "cents": 2}]
                        assert between(orders, "2024-01-01", "2024-01-31") == orders[:1]


                    def test_totals():
                        assert totals([{"customer": "a", "cents": 1}, {"customer": "a", "cents": 2}]) == {"a": 3}
                ''',
            },
        ),
        Commit(
            "report: thousands separators",
            edits=(
                ("sales/report.py", '[f"{name}: {cents / 100:.2f}" for', '[f"{name}: {cents / 100:,.2f}" for'),
                ("tests/test_report.py", "def test_top():\n",
                 'def test_thousands():\n    assert top([{"customer": "big", "cents": 123456789}]) == ["big: 1,234,567.89"]\n\n\ndef test_top():\n'),
            ),
        ),
        Commit(
            "query: sort in place (large exports), skip refunds",
            edits=(
                ("sales/query.py", "    return sorted(totals(orders).items(), key=lambda kv: kv[1], reverse=True)\n",
                 "    rows = [kv for kv in totals(orders).items() if kv[1] > 0]\n"
                 "    rows = rows.sort(key=lambda kv: kv[1], reverse=True)\n    return rows\n"),
            ),
        ),
        Commit(
            "query: ties are broken by customer name",
            edits=(
                ("sales/query.py", "rows = rows.sort(key=lambda kv: kv[1], reverse=True)", "rows = rows.sort(key=lambda kv: (-kv[1], kv[0]))"),
            ),
        ),
        Commit(
            "report: tests for ties and refunds",
            edits=(
                ("tests/test_report.py", "def test_top():\n",
                 'def test_ties_and_refunds():\n    orders = [{"customer": "b", "cents": 100}, {"customer": "a", "cents": 100}, {"customer": "c", "cents": -50}]\n'
                 '    assert top(orders) == ["a: 1.00", "b: 1.00"]\n\n\ndef test_top():\n'),
            ),
        ),
    ],
    suspect=4,
    repro='from sales.report import top\ntop([{"customer": "initech", "cents": 129900}, {"customer": "umbrella", "cents": 45000}], n=5)\n',
    fix=[("sales/query.py", "    rows = rows.sort(key=lambda kv: (-kv[1], kv[0]))\n", "    rows.sort(key=lambda kv: (-kv[1], kv[0]))\n")],
    must_keep=[("sales/query.py", "kv[1] > 0"), ("sales/query.py", "(-kv[1], kv[0])"), ("sales/report.py", "def csv_lines(")],
)

CASES = [X01, X02, X03, X04, X05, X06, X07, X08, X09, X10]
