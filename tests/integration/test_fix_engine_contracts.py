"""The fix engine where a contract between two parts changed and the part it did not update broke: an
override on the old signature, a caller unpacking what is now an object, a latent bug found by undoing
commits on HEAD, a value out of a callee's range, a None handed back by a helper.

Real git histories and real test runs, as in `test_fix_engine.py`; each test fails without its mechanism.
(Split from `test_fix_engine_data.py` so that `--dist loadfile` can run the two halves on two workers.)
"""

from __future__ import annotations

from pathlib import Path

from agents.bisect import bisect
from agents.findrepro import find_repro
from agents.testing.regressions import _Repo, _report, _traceback
from tests.integration.test_fix_engine import _repair_from


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


def test_a_caller_still_unpacking_a_tuple_now_a_dict_reads_the_keys_its_positions_became(tmp_path: Path) -> None:
    """`summarize()` returned `(mean, count)`; it now returns a dict with a third field, `max`, which an
    alert reads. The renderer still unpacks it, and unpacking a dict gives its keys: `too many values to
    unpack (expected 2)`. Each name is read from the key its position became; the alert on `max` stays."""
    repo = _Repo(tmp_path / "repo", 47)
    stats = ("def summarize(xs):\n    if not xs:\n        return 0.0, 0\n    return sum(xs) / len(xs), len(xs)\n")
    render = ("from rep import stats\n\n\ndef line(name, xs):\n    mean, count = stats.summarize(xs)\n"
              "    return f'{name}: {mean:.1f} over {count}'\n")
    files = {"rep/__init__.py": "", "rep/stats.py": stats, "rep/render.py": render,
             "tests/test_render.py": "from rep.render import line\n\n\ndef test_line():\n"
                                     "    assert line('cpu', [1, 2]) == 'cpu: 1.5 over 2'\n"}
    good = repo.commit("rep: summaries", files)
    files |= {"rep/stats.py": "def summarize(xs):\n    if not xs:\n"
                              "        return {'mean': 0.0, 'count': 0, 'max': None}\n"
                              "    return {'mean': sum(xs) / len(xs), 'count': len(xs), 'max': max(xs)}\n",
              "rep/alerts.py": "from rep.stats import summarize\n\n\ndef too_high(xs, limit):\n"
                               "    return (summarize(xs)['max'] or 0) > limit\n",
              "tests/test_alerts.py": "from rep.alerts import too_high\n\n\ndef test_high():\n"
                                      "    assert too_high([1, 9], 5) and not too_high([], 5)\n"}
    regression = repo.commit("stats: a mapping, so fields can be added; alerts on the maximum", files)
    result = _repair_from(repo, "from rep.render import line\nline('mem', [4, 6])", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:tuple_to_dict", result.attempts
    text = (repo.path / "rep/render.py").read_text()
    assert "    result = stats.summarize(xs)\n    mean, count = result['mean'], result['count']\n" in text, text
    assert "'max': max(xs)" in (repo.path / "rep/stats.py").read_text()


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


def test_a_consumer_of_a_renamed_key_reads_the_new_key_and_the_old_one_where_data_still_has_it(
        tmp_path: Path) -> None:
    """The loader keys users by `email_address` now; the notifier still reads `email`. Reading only the new
    key breaks the notifier's own tests, whose hand-made users (like data written before the rename) carry
    the old one: the new key where the data has it, the old one where it does not."""
    repo = _Repo(tmp_path / "repo", 53)
    notify = "def emails(users):\n    return [u['email'] for u in users if u.get('active', True)]\n"
    files = {"crm/__init__.py": "", "crm/notify.py": notify,
             "crm/load.py": "def load(rows):\n    return [{'email': e, 'name': n} for e, n in rows]\n",
             "tests/test_notify.py": "from crm.notify import emails\n\n\ndef test_emails():\n"
                                     "    assert emails([{'email': 'a@x.org', 'name': 'A'}]) == ['a@x.org']\n"}
    good = repo.commit("crm: loader and notifier", files)
    files |= {"crm/load.py": "def load(rows):\n    return [{'email_address': e, 'name': n} for e, n in rows]\n",
              "tests/test_load.py": "from crm.load import load\n\n\ndef test_keys():\n"
                                    "    assert load([('a@x.org', 'A')])[0]['email_address'] == 'a@x.org'\n"}
    regression = repo.commit("load: keys as in the CRM v2 export", files)
    repo.commit("tests: load then notify", {"tests/test_flow.py": "from crm.load import load\nfrom crm.notify import "
                                            "emails\n\n\ndef test_flow():\n"
                                            "    assert emails(load([('b@x.org', 'B')])) == ['b@x.org']\n"})
    result = _repair_from(repo, "from crm.load import load\nfrom crm.notify import emails\n"
                          "emails(load([('c@x.org', 'C')]))\n", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:stale_key", result.attempts
    assert ("(u['email_address'] if 'email_address' in u else u['email'])"
            in (repo.path / "crm/notify.py").read_text()), result.attempts
