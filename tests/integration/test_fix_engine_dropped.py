"""The fix engine where a commit dropped one thing among others it changed: an entry of a data file that a
later update rewrote again, a conversion wrapped around a value whose source the same line changed.

Real git histories and real test runs, as in `test_fix_engine.py`; each test fails without its mechanism
(`agents.datarevert`, `agents.rewrap`): the line and hunk undos put back the commit's feature with the slip,
or no candidate passes at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agents.datarevert import data_reverts, removed_entries
from agents.repro import run_repro
from agents.testing.regressions import RegressionCase, _Repo
from swarm.models import ErrorReport
from tests.integration.test_fix_engine import _investigate, packaging_case
from tests.support.fixengine import repro_bisect_repair


def _reported(repo: _Repo, imports: str, call: str, service: str) -> ErrorReport:
    """The real reporter's report of `call` raising at HEAD (its arguments and its callers' captured)."""
    app = (f"import sys\nfrom swarm.reporting.reporter import report_from_exception\n{imports}\ntry:\n    {call}\n"
           f"except Exception:\n    print(report_from_exception(sys.exc_info(), service={service!r}, root='.')"
           ".model_dump_json())\n")
    out = subprocess.run([sys.executable, "-c", app], cwd=repo.path, capture_output=True, text=True, check=True)
    return ErrorReport.model_validate_json(out.stdout)


def _shown(repo: _Repo, branch: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{branch}:{path}"], cwd=repo.path, capture_output=True, text=True,
                          check=True).stdout


_ZONES = '''import json
from pathlib import Path

_TABLE = json.loads(Path(__file__).with_name("zones.json").read_text())


class UnknownZone(LookupError):
    pass


def shipping_cents(country):
    try:
        return _TABLE["zones"][country]["cents"]
    except KeyError:
        raise UnknownZone(f"no shipping zone for {country}") from None
'''


def _zones(version: str, zones: dict[str, int]) -> str:
    return json.dumps({"version": version, "zones": {k: {"cents": v} for k, v in zones.items()}}, indent=2) + "\n"


def test_an_entry_a_data_refresh_dropped_is_put_back_into_the_file_as_a_later_refresh_left_it(
        tmp_path: Path) -> None:
    """A price refresh drops Switzerland from the zones file (and adds Poland); the next refresh rewrites every
    price again. Undoing the first refresh's lines cannot apply (they were rewritten), undoing the whole file
    loses Poland and the new prices (the tests check both): putting back the one entry it removed keeps them."""
    repo = _Repo(tmp_path / "repo", 31)
    test = ("from ship.zones import shipping_cents\n\n\ndef test_prices():\n"
            "    assert shipping_cents('DE') == {de}\n    assert shipping_cents('PL') == 1190\n")
    files = {"ship/__init__.py": "", "ship/zones.py": _ZONES,
             "ship/zones.json": _zones("2025-1", {"DE": 490, "AT": 650, "CH": 1200, "FR": 790}),
             "tests/test_zones.py": test.format(de=490).replace("    assert shipping_cents('PL') == 1190\n", "")}
    repo.commit("zones: first price list", files)
    files |= {"ship/zones.json": _zones("2025-2", {"DE": 520, "AT": 690, "FR": 810, "PL": 1190}),
              "tests/test_zones.py": test.format(de=520)}
    bad = repo.commit("zones: 2025-2 prices, add Poland", files)
    files |= {"ship/zones.json": _zones("2026-1", {"DE": 540, "AT": 720, "FR": 840, "PL": 1190}),
              "tests/test_zones.py": test.format(de=540)}
    repo.commit("zones: 2026-1 prices", files)
    stack = ('Traceback (most recent call last):\n  File "/srv/app/ship/zones.py", line 13, in shipping_cents\n'
             '    return _TABLE["zones"][country]["cents"]\nKeyError: \'CH\'\n\nDuring handling of the above '
             'exception, another exception occurred:\n\nTraceback (most recent call last):\n'
             '  File "/srv/app/ship/zones.py", line 15, in shipping_cents\n'
             '    raise UnknownZone(f"no shipping zone for {country}") from None\n'
             "ship.zones.UnknownZone: no shipping zone for CH\n")
    report = ErrorReport(error="ship.zones.UnknownZone: no shipping zone for CH", stack=stack, service="shop",
                         context={"file": "ship/zones.py", "line": 15, "function": "shipping_cents",
                                  "args": ["CH"]})
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "data", result.attempts
    assert result.tried == 1, result.attempts  # named by the error: tried before any template
    now = json.loads((repo.path / "ship/zones.json").read_text())
    assert now["zones"]["CH"] == {"cents": 1200} and now["zones"]["DE"] == {"cents": 540}
    assert now["version"] == "2026-1" and now["zones"]["PL"] == {"cents": 1190}
    diff = subprocess.run(["git", "diff", "--numstat"], cwd=repo.path, capture_output=True, text=True).stdout
    assert diff.split()[:3] == ["3", "0", "ship/zones.json"], diff  # three lines added, none rewritten


def test_data_reverts_keep_the_files_layout_and_put_back_array_items_and_nested_members(tmp_path: Path) -> None:
    """One line per member or all on one line, an array of codes, a member two levels down: each removed entry
    is put back alone, in the layout around it, and one more candidate puts back all of them."""
    repo = _Repo(tmp_path / "repo", 32)
    before = {"currencies": ["EUR", "USD", "GBP"], "limits": {"daily": {"EUR": 500, "GBP": 400}, "weekly": 2000}}
    after = {"currencies": ["EUR", "USD"], "limits": {"daily": {"EUR": 500}}}
    parent = repo.commit("config", {"cfg/pay.json": json.dumps(before, indent=4) + "\n"})
    commit = repo.commit("config: trim", {"cfg/pay.json": json.dumps(after, indent=4) + "\n"})
    assert sorted(map(str, removed_entries(before, after))) == sorted(map(str, [
        (("currencies",), None, "GBP"), (("limits", "daily"), "GBP", 400), (("limits",), "weekly", 2000)]))
    head = json.dumps({"currencies": ["EUR", "USD", "CHF"], "limits": {"daily": {"EUR": 550}}}, indent=4) + "\n"
    cands = data_reverts(str(repo.path), commit, parent, ["cfg/pay.json"], {"cfg/pay.json": head},
                         message="ValueError: currency GBP is not accepted")
    texts = [c.texts["cfg/pay.json"] for c in cands]
    assert len(cands) == 4, [c.description for c in cands]
    named = [c for c in cands[:-1] if c.on_path]  # the two entries whose value or key the message quotes
    assert {c.description.split(" in ")[0] for c in named} == {'put back "GBP"', 'put back "GBP": 400'}
    for text in texts:
        assert json.loads(text)["limits"]["daily"]["EUR"] == 550 and "CHF" in json.loads(text)["currencies"]
    everything = json.loads(texts[-1])
    assert everything == {"currencies": ["EUR", "USD", "CHF", "GBP"],
                          "limits": {"daily": {"EUR": 550, "GBP": 400}, "weekly": 2000}}
    assert '    "limits": {\n        "daily": {\n            "EUR": 550,\n            "GBP": 400\n' in texts[-1]
    one_line = '{"a": {"x": 1, "y": 2}}'
    parent = repo.commit("inline", {"cfg/inline.json": one_line})
    commit = repo.commit("inline: drop y", {"cfg/inline.json": '{"a": {"x": 1}}'})
    (cand,) = data_reverts(str(repo.path), commit, parent, ["cfg/inline.json"], {"cfg/inline.json": '{"a": {"x": 3}}'})
    assert cand.texts["cfg/inline.json"] == '{"a": {"x": 3, "y": 2}}'


def test_a_conversion_a_rewritten_line_dropped_is_put_back_around_the_lines_new_source(tmp_path: Path) -> None:
    """A commit normalises the reading's keys and, on the same line, drops the `float(...)` around the value:
    `(float(reading["value"]) - 32)` -> `(sample["value"] - 32)`. Undoing the line brings back `reading["value"]`,
    which the new keys no longer match (the test sends `Value`); the undo of one token change cannot take off
    `float(` without `reading`. Putting the dropped call back around what the line reads now fixes it."""
    repo = _Repo(tmp_path / "repo", 33)
    old = ("def to_celsius(reading):\n    celsius = (float(reading[\"value\"]) - 32) * 5 / 9\n"
           "    return round(celsius, 1)\n")
    new = ("def to_celsius(reading):\n    sample = {k.strip().lower(): v for k, v in reading.items()}\n"
           "    celsius = (sample[\"value\"] - 32) * 5 / 9\n    return round(celsius, 1)\n")
    test = ("from sensors.convert import to_celsius\n\n\ndef test_upper_case_keys():\n"
            "    assert to_celsius({' Value ': 212.0}) == 100.0\n")
    good = repo.commit("sensors: fahrenheit readings", {"sensors/__init__.py": "", "sensors/convert.py": old})
    bad = repo.commit("sensors: accept any key case", {"sensors/convert.py": new, "tests/test_convert.py": test})
    repo.commit("readme", {"README.md": "# sensors\n"})
    assert good
    stack = ('Traceback (most recent call last):\n  File "/srv/app/sensors/convert.py", line 3, in to_celsius\n'
             '    celsius = (sample["value"] - 32) * 5 / 9\n'
             "TypeError: unsupported operand type(s) for -: 'str' and 'int'\n")
    report = ErrorReport(error="TypeError: unsupported operand type(s) for -: 'str' and 'int'", stack=stack,
                         service="sensors", context={"file": "sensors/convert.py", "line": 3,
                                                     "function": "to_celsius", "args": [{"value": "98.6"}]})
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "token", result.attempts
    assert "float(…)" in result.candidate.description, result.candidate.description
    text = (repo.path / "sensors/convert.py").read_text()
    assert '    celsius = (float(sample["value"]) - 32) * 5 / 9\n' in text and "k.strip().lower()" in text


def test_a_unit_a_rewritten_value_lost_is_applied_to_the_whole_new_value_keeping_its_override(
        tmp_path: Path) -> None:
    """`MAX_UPLOAD_BYTES = 5 * MB` becomes `int(os.environ.get("MAX_UPLOAD_MB", 5))`: the override is read in
    megabytes but the `* MB` is gone, so a 2 MB upload is refused. The two lines share little but the name they
    assign, which pairs them; undoing them drops the override (a test sets it to 0); the old value's closing
    `* MB` applied to the whole new value keeps it."""
    repo = _Repo(tmp_path / "repo", 34)
    old = ('"""Upload limits."""\nMB = 1024 * 1024\nMAX_UPLOAD_BYTES = 5 * MB\n\n\nclass TooLarge(ValueError):\n'
           '    pass\n\n\ndef check_size(n):\n    if n > MAX_UPLOAD_BYTES:\n'
           '        raise TooLarge(f"{n} bytes is over the {MAX_UPLOAD_BYTES} byte limit")\n    return n\n')
    new = old.replace('"""Upload limits."""\n', '"""Upload limits."""\nimport os\n').replace(
        "MAX_UPLOAD_BYTES = 5 * MB\n",
        '# limit in MB, per deployment\nMAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_MB", 5))\n')
    test = ("import importlib\n\nimport pytest\n\nimport up.limits\n\n\ndef test_a_zero_limit_refuses_any_upload("
            "monkeypatch):\n    monkeypatch.setenv('MAX_UPLOAD_MB', '0')\n    limits = importlib.reload(up.limits)\n"
            "    with pytest.raises(limits.TooLarge):\n        limits.check_size(1)\n"
            "    monkeypatch.delenv('MAX_UPLOAD_MB')\n    importlib.reload(up.limits)\n")
    repo.commit("up: size limit", {"up/__init__.py": "", "up/limits.py": old})
    bad = repo.commit("up: limit configurable per deployment", {"up/limits.py": new, "tests/test_limits.py": test})
    repo.commit("readme", {"README.md": "# up\n"})
    stack = ('Traceback (most recent call last):\n  File "/srv/app/up/limits.py", line 14, in check_size\n'
             '    raise TooLarge(f"{n} bytes is over the {MAX_UPLOAD_BYTES} byte limit")\n'
             "up.limits.TooLarge: 2000000 bytes is over the 5 byte limit\n")
    report = ErrorReport(error="up.limits.TooLarge: 2000000 bytes is over the 5 byte limit", stack=stack,
                         service="up", context={"file": "up/limits.py", "line": 14, "function": "check_size",
                                                "args": [2000000]})
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "on the whole value" in result.candidate.description, result.attempts
    text = (repo.path / "up/limits.py").read_text()
    assert 'MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_MB", 5)) * MB\n' in text, text


async def test_a_conversion_that_closed_the_rewritten_line_goes_back_on_its_new_value_keeping_the_feature(
        tmp_path: Path) -> None:
    """The suspect adds packaging to the weight and drops the grams-to-kilograms conversion on the same line:
    `sum(...) / 1000` -> `sum(...) + PACKAGING_G`. Undoing its token change passes and deletes the packaging
    (review 16, shipcalc: that went out, approved); `(sum(...) + PACKAGING_G) / 1000` keeps it, and is the fix,
    with no note of a deleted feature. The report is the real reporter's, with the caller's arguments."""
    case = packaging_case(tmp_path / "repo", 35,
                          "    weight = sum(i['g'] for i in items) / 1000\n    return price(weight)\n",
                          "    weight = sum(i['g'] for i in items) + PACKAGING_G\n    return price(weight)\n")
    express = (await _investigate(case, tmp_path))["express"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit, express
    fixed = subprocess.run(["git", "show", f"{express['branch']}:ship/quote.py"], cwd=case.path,
                           capture_output=True, text=True, check=True).stdout
    assert "    weight = (sum(i['g'] for i in items) + PACKAGING_G) / 1000\n" in fixed, fixed
    assert "it deletes what the suspect commit added" not in express["summary"], express["summary"]


async def test_a_call_with_a_decimal_is_reproduced_with_it_and_its_regression_test_writes_it(tmp_path: Path) -> None:
    """`tax_for("DE", Decimal("100.00"))`: the reporter sends the Decimal as its type and value (it used to send
    no arguments at all when one was not plain JSON, review 16), the repro rebuilds it, bisect names the commit
    that dropped `.lower()`, and the committed regression test calls `tax_for('DE', decimal.Decimal('100.00'))`."""
    repo = _Repo(tmp_path / "repo", 36)
    tax = ('from decimal import Decimal\n\nRATES = {"de": Decimal("0.19"), "fr": Decimal("0.20")}\n\n\n'
           'def tax_for(region, amount):\n    return (amount * RATES[region.lower()]).quantize(Decimal("0.01"))\n')
    test = ("from decimal import Decimal\n\nfrom vat.tax import tax_for\n\n\ndef test_de():\n"
            "    assert tax_for('de', Decimal('10.00')) == Decimal('1.90')\n")
    files = {"vat/__init__.py": "", "vat/tax.py": tax, "tests/__init__.py": "", "tests/test_tax.py": test}
    repo.commit("vat: tax per region", files)
    files |= {"vat/tax.py": tax.replace('"fr": Decimal("0.20")}', '"fr": Decimal("0.20"), "at": Decimal("0.20")}')
              .replace("RATES[region.lower()]", "RATES[region]"),
              "tests/test_tax.py": test + "\n\ndef test_at():\n"
                                          "    assert tax_for('at', Decimal('10.00')) == Decimal('2.00')\n"}
    bad = repo.commit("vat: Austria; rates looked up as given", files)
    repo.commit("docs", {**files, "README.md": "vat\n"})
    report = _reported(repo, "from decimal import Decimal\nfrom vat.tax import tax_for",
                       "tax_for('DE', Decimal('100.00'))", "vat")
    assert report.context.model_extra["args"] == ["DE", {"$type": "decimal:Decimal", "$value": "100.00"}]
    result = await _investigate(RegressionCase(repo.path, "typed", 36, bad, report), tmp_path)
    express, impl = result["express"], result["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == bad, (express, impl)
    assert express["suspect_method"] == "bisected" and impl["repro"]["kind"] == "built", impl["repro"]
    fixed = _shown(repo, express["branch"], "vat/tax.py")
    assert '"at": Decimal("0.20")' in fixed and "RATES[region.lower()]" in fixed, fixed
    written = _shown(repo, express["branch"], impl["regression_test"])
    assert "import decimal\n" in written and "tax_for('DE', decimal.Decimal('100.00'))" in written, written
    assert impl["tests_after"]["passed"] == impl["tests_before"]["passed"] + 1


async def test_a_default_a_refactor_dropped_for_a_key_comes_back_where_the_new_code_builds_the_mapping(
        tmp_path: Path) -> None:
    """A refactor builds the e-mail context from a list of order fields and drops the fallback the old context
    gave a missing company (`order.get("company") or "private customer"`); the template, another module, raises
    `KeyError: 'company'`. The old line is gone, so no undo of the new one brings the fallback back, and undoing
    the hunk loses the VAT id the tests check: the key gets its old default in the function that builds the
    mapping (review 16, notify)."""
    repo = _Repo(tmp_path / "repo", 37)
    templates = ('TEMPLATES = {"confirm": "Order {number} for {company}"}\n\n\n'
                 "def render(name, ctx):\n    return TEMPLATES[name].format_map(ctx)\n")
    emails = ("from mail.templates import render\n\n\ndef confirm_context(order):\n"
              '    return {"number": order["number"], "company": order.get("company") or "private customer"}\n\n\n'
              'def confirm(order):\n    return render("confirm", confirm_context(order))\n')
    test = ("from mail.emails import confirm\n\n\ndef test_confirm():\n"
            "    assert confirm({'number': 'A-1', 'company': 'Acme'}) == 'Order A-1 for Acme'\n")
    files = {"mail/__init__.py": "", "mail/templates.py": templates, "mail/emails.py": emails,
             "tests/__init__.py": "", "tests/test_emails.py": test}
    repo.commit("mail: order confirmation", files)
    files |= {"mail/emails.py": ('from mail.templates import render\n\nFIELDS = ("number", "company", "vat_id")\n\n\n'
                                 "def order_context(order, **extra):\n"
                                 "    ctx = {f: order[f] for f in FIELDS if order.get(f)}\n    ctx.update(extra)\n"
                                 "    return ctx\n\n\ndef confirm(order):\n"
                                 '    return render("confirm", order_context(order))\n'),
              "tests/test_emails.py": test + ("\n\ndef test_vat_id():\n    from mail.emails import order_context\n"
                                              "    assert order_context({'number': 'A-2', 'vat_id': 'DE1'})['vat_id'] "
                                              "== 'DE1'\n")}
    bad = repo.commit("mail: context from the order's fields, VAT id", files)
    repo.commit("docs", {**files, "README.md": "mail\n"})
    report = _reported(repo, "from mail.emails import confirm", "confirm({'number': 'B-7'})", "mail")
    result = await _investigate(RegressionCase(repo.path, "caller", 37, bad, report), tmp_path)
    express = result["express"]
    assert express["status"] == "fixed" and express["suspect_commit"] == bad, (express, result["implement"])
    fixed = _shown(repo, express["branch"], "mail/emails.py")
    assert "    ctx.update(extra)\n    ctx.setdefault('company', 'private customer')\n    return ctx\n" in fixed, fixed
    assert '"vat_id"' in fixed


def test_one_place_of_a_rewritten_regex_is_undone_alone_and_a_replaced_class_keeps_both(tmp_path: Path) -> None:
    """A commit rewrites the phone pattern to refuse double dashes and to allow dashes, and drops the space from
    the class on the way (a comment line above it is new too): `+49 30 1234567` is refused. The whole literal's
    undo loses the dash and the look-ahead, which the commit's tests check; undoing one place at a time does not
    pass either (the space came out where the dash went in); the old character put back beside the new one,
    `[0-9- ]`, keeps both (review 17, signup: its regex was one unit, and its comment line took its pair)."""
    repo = _Repo(tmp_path / "repo", 38)
    old = ('import re\n\nPHONE = re.compile(r"^\\+?[0-9 ]{7,15}$")\n\n\nclass BadPhone(ValueError):\n    pass\n\n\n'
           "def phone(text):\n    if not PHONE.match(text):\n        raise BadPhone(text)\n    return text\n")
    new = old.replace('PHONE = re.compile(r"^\\+?[0-9 ]{7,15}$")',
                      '# dashes allowed, never two in a row\nPHONE = re.compile(r"^(?!.*--)\\+?[0-9-]{7,15}$")')
    test = ("import pytest\n\nfrom contact.check import BadPhone, phone\n\n\ndef test_dashes():\n"
            "    assert phone('030-1234567') == '030-1234567'\n    with pytest.raises(BadPhone):\n"
            "        phone('030--1234567')\n")
    repo.commit("contact: phone check", {"contact/__init__.py": "", "contact/check.py": old})
    bad = repo.commit("contact: dashes in phone numbers", {"contact/check.py": new, "tests/test_check.py": test})
    repo.commit("docs", {"README.md": "contact\n"})
    report = _reported(repo, "from contact.check import phone", "phone('+49 30 1234567')", "contact")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "inside" in result.candidate.description, result.attempts
    text = (repo.path / "contact/check.py").read_text()
    assert 'PHONE = re.compile(r"^(?!.*--)\\+?[0-9- ]{7,15}$")' in text, text


def test_a_regex_that_lost_its_anchors_while_gaining_a_flag_gets_its_pattern_back_and_keeps_the_flag(
        tmp_path: Path) -> None:
    """Review 25 (skucodes): the code pattern lost `^`/`$` in the commit that made it case-insensitive, so
    `SAVE-10X` matches and its number crashes `int()`. The literal is undone alone (its flag argument, the
    feature, stays); a template that turns the crash into the old refusal passes too, and changes production's
    value as much (`save-20` is taken now: the feature), but handles the symptom (`SAVE-105` would give 105 %):
    the suspect's own token undone comes first."""
    repo = _Repo(tmp_path / "repo", 40)
    old = ('import re\n\nCODE = re.compile(r"^[A-Z]{4}-\\d{2}$")\n\n\nclass BadCode(ValueError):\n    pass\n\n\n'
           "def percent(code):\n    if not CODE.match(code):\n        raise BadCode(code)\n"
           "    return int(code.split('-')[1])\n\n\n"
           "def redeem(codes):\n    taken, refused = [], 0\n    for code in codes:\n        try:\n"
           "            taken.append(percent(code))\n        except BadCode:\n            refused += 1\n"
           "    return {'taken': taken, 'refused': refused}\n")
    new = old.replace('CODE = re.compile(r"^[A-Z]{4}-\\d{2}$")',
                      '# the till sends lower case\nCODE = re.compile(r"[A-Z]{4}-\\d{2}", re.IGNORECASE)')
    test = ("from promo.codes import percent\n\n\ndef test_lower():\n    assert percent('save-15') == 15\n")
    repo.commit("promo: codes", {"promo/__init__.py": "", "promo/codes.py": old})
    bad = repo.commit("promo: lower-case codes", {"promo/codes.py": new, "tests/test_codes.py": test})
    repo.commit("docs", {"README.md": "promo\n"})
    report = _reported(repo, "from promo.codes import redeem", "redeem(['SAVE-10', 'SAVE-10X', 'save-20'])", "promo")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "token", result.attempts
    text = (repo.path / "promo/codes.py").read_text()
    assert 'CODE = re.compile(r"^[A-Z]{4}-\\d{2}$", re.IGNORECASE)' in text, text


def test_a_no_fix_names_the_changed_code_line_not_a_comment_the_commit_added_above_it(tmp_path: Path) -> None:
    """Review 17, signup: the root cause paired the old regex with the comment line added above the new one, so
    the changed pattern itself was never shown."""
    from agents.suspectlines import what_it_changed
    from agents.workspace import Workspace

    repo = _Repo(tmp_path / "repo", 39)
    repo.commit("check", {"c/check.py": 'PHONE = r"^[0-9 ]+$"\n'})
    sha = repo.commit("dashes", {"c/check.py": '# dashes allowed\nPHONE = r"^[0-9-]+$"\n'})
    ws = Workspace(repo.path, repo.path, "main", sha, "read")
    assert what_it_changed(ws, sha) == ('; it changed c/check.py: `- PHONE = r"^[0-9 ]+$"` -> '
                                         '`+ PHONE = r"^[0-9-]+$"`')


def test_callers_that_relied_on_a_default_the_suspect_changed_pass_the_old_one(tmp_path: Path) -> None:
    """`timeout_for(service, fallback=30)` becomes `fallback=None` for the suspect's new `has_timeout()`, whose
    test needs the None; the old caller never passed it and now adds None to a clock. Putting the default back
    fails that test; the old caller passes `fallback=30` (review 17, notify), the new function stays as it is."""
    repo = _Repo(tmp_path / "repo", 40)
    config = ('TIMEOUTS = {"db": 5, "api": 10}\n\n\ndef timeout_for(service, fallback=30):\n'
              "    return TIMEOUTS.get(service, fallback)\n")
    client = ("from cfg.config import timeout_for\n\n\ndef deadline(service, now):\n"
              "    return now + timeout_for(service)\n")
    test = "from cfg.client import deadline\n\n\ndef test_db():\n    assert deadline('db', 100) == 105\n"
    files = {"cfg/__init__.py": "", "cfg/config.py": config, "cfg/client.py": client, "tests/test_client.py": test}
    repo.commit("cfg: timeouts", files)
    files |= {"cfg/config.py": config.replace("fallback=30", "fallback=None")
              + "\n\ndef has_timeout(service):\n    return timeout_for(service) is not None\n",
              "tests/test_config.py": "from cfg.config import has_timeout\n\n\ndef test_has_timeout():\n"
                                      "    assert has_timeout('db') and not has_timeout('cache')\n"}
    bad = repo.commit("cfg: has_timeout() for the health page", files)
    repo.commit("docs", {"README.md": "cfg\n"})
    report = _reported(repo, "from cfg.client import deadline", "deadline('cache', 100)", "cfg")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:param_default", result.attempts
    assert "    return now + timeout_for(service, fallback=30)\n" in (repo.path / "cfg/client.py").read_text()
    assert "fallback=None" in (repo.path / "cfg/config.py").read_text()


def test_an_offset_the_rewrite_dropped_goes_back_on_the_function_its_operand_now_passes_through(
        tmp_path: Path) -> None:
    """`(hour - 1) // 8 + 1` becomes `local_hour(hour, offset) // 8 + 1` (time zones, a new helper) and loses
    the `- 1`: hour 24 is shift 4, past the labels. The helper goes in above, so the diff pairs the old line with
    the helper's look-alike return, and the function's new line sits in another hunk; lines are matched within
    their function, and the `(… - 1)` goes around the call the operand went into (review 17: finrep)."""
    repo = _Repo(tmp_path / "repo", 41)
    old = ('LABELS = ("night", "early", "late")\n\n\ndef shift_of(hour):\n    """Shift (1-3) of an hour (1-24)."""\n'
           "    return (hour - 1) // 8 + 1\n\n\ndef label(hour):\n    return LABELS[shift_of(hour) - 1]\n")
    new = ('LABELS = ("night", "early", "late")\n\n\ndef local_hour(hour, offset=0):\n'
           '    """The hour (1-24) `offset` hours away."""\n    return (hour - 1 + offset) % 24 + 1\n\n\n'
           'def shift_of(hour, offset=0):\n    """Shift (1-3) of an hour (1-24) in a zone `offset` hours away."""\n'
           "    return local_hour(hour, offset) // 8 + 1\n\n\n"
           "def label(hour, offset=0):\n    return LABELS[shift_of(hour, offset) - 1]\n")
    test = ("from rota.shifts import label, local_hour\n\n\ndef test_zones():\n    assert local_hour(24, 1) == 1\n"
            "    assert label(3) == 'night'\n")
    repo.commit("rota: shifts", {"rota/__init__.py": "", "rota/shifts.py": old})
    bad = repo.commit("rota: shifts in the site's time zone", {"rota/shifts.py": new, "tests/test_shifts.py": test})
    repo.commit("docs", {"README.md": "rota\n"})
    report = _reported(repo, "from rota.shifts import label", "label(24)", "rota")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "around local_hour" in result.candidate.description, result.attempts
    text = (repo.path / "rota/shifts.py").read_text()
    assert "    return (local_hour(hour, offset) - 1) // 8 + 1\n" in text and "% 24 + 1" in text, text


def test_a_patch_that_moves_the_crash_further_on_is_no_fix_when_the_repro_has_productions_values(
        tmp_path: Path) -> None:
    """Review 18, permcheck: `granted(user)` -> `granted(required)` (a swapped name) got past the crash line and
    failed one call deeper; with production's own arguments that is the call still failing, not a fix, but it
    was claimed ("the repro now passes") and approved. Only a call that runs through counts now."""
    repo = _Repo(tmp_path / "repo", 42)
    roles = ('ROLES = {"editor": {"grants": ["read", "write"]}}\n\n\n'
             'def granted(user):\n    return set(ROLES[user["role"]]["grants"])\n')
    guards = ("from perm.roles import granted\n\n\nclass Denied(PermissionError):\n    pass\n\n\n"
              "def require_all(user, required):\n    missing = set(required) - granted(user)\n    if missing:\n"
              "        raise Denied(sorted(missing))\n    return True\n")
    repo.commit("perm: roles and guards", {"perm/__init__.py": "", "perm/roles.py": roles, "perm/guards.py": guards})
    bad = repo.commit("perm: explain() says which role grants a permission", {
        "perm/roles.py": roles.replace('    return set(ROLES[user["role"]]["grants"])\n',
                                       '    return {p: user["role"] for p in ROLES[user["role"]]["grants"]}\n')
        + "\n\ndef explain(user, perm):\n    return granted(user).get(perm)\n",
        "tests/test_roles.py": "from perm.roles import explain\n\n\ndef test_explain():\n"
                               "    assert explain({'role': 'editor'}, 'write') == 'editor'\n"})
    repo.commit("docs", {"README.md": "perm\n"})
    report = _reported(repo, "from perm.guards import require_all", "require_all({'role': 'editor'}, ['read'])",
                       "perm")
    repro, result = repro_bisect_repair(repo, report, bad)
    moved = [a for a in result.attempts if "granted(required)" in a or "user -> required" in a]
    assert all(a.endswith(": repro skip") for a in moved), result.attempts
    assert result.candidate is not None and "granted(required)" not in (repo.path / "perm/guards.py").read_text()
    # the swapped name gets past the crash line and fails one call deeper: past it (the made-up values' rule),
    # but no fix when the call has production's own values
    (repo.path / "perm/guards.py").write_text(guards.replace("granted(user)", "granted(required)"))
    assert run_repro(repo.path, repro) == "good" and run_repro(repo.path, repro, strict=True) == "skip"


def test_no_regression_test_is_kept_whose_call_reads_a_file_of_this_machine_outside_the_repository(
        tmp_path: Path) -> None:
    """Review 18, csvimport: the committed test called `load('/work/…/prod/data/….csv')`, production's file, so
    the fix branch's suite failed anywhere else. A call naming an existing path outside the repository gets no
    test (and says why); one naming a route (`/users/42`, no file) or a file of the repository still does."""
    from agents.regtest import keep_regression_test, regression_test
    from agents.repro import Repro
    from swarm.models import TestCounts

    repo = _Repo(tmp_path / "repo", 43)
    repo.commit("app", {"app/__init__.py": "", "app/load.py": "def load(path):\n    return path\n",
                        "tests/__init__.py": "", "tests/test_load.py": "def test_x():\n    assert True\n"})
    prod = tmp_path / "prod.csv"
    prod.write_text("sku;qty\n")
    counts = TestCounts(passed=1, failed=0, errors=0)

    def kept(args: list) -> tuple:
        code = (f"import importlib, json; m = importlib.import_module('app.load'); "
                f"m.load(*json.loads({json.dumps(args)!r}), **json.loads('{{}}'))")
        repro = Repro("built", [sys.executable, "-c", code], target="app/load.py:load")
        report = ErrorReport(error="ValueError: x", stack="", service="app")
        test = regression_test(repo.path, repro, report, "inv-1", ["tests/test_load.py"])
        assert test is not None
        ran: list[int] = []
        out = keep_regression_test(repo.path, test, repro, ["app/load.py"], "python -m pytest -q",
                                   lambda: ran.append(1) or counts, counts, counts)
        return out, ran

    (none, why), ran = kept([str(prod)])
    assert none is None and why == f"its arguments name files outside the repository ({prod}): it would pass only " \
                                   "on this machine" and not ran  # decided before any suite run
    for fine in (["/users/42"], [str(repo.path / "app" / "load.py")]):
        (_, why), ran = kept(fine)
        assert "outside the repository" not in why and ran, why


def test_a_clamp_a_rewritten_line_dropped_goes_back_whole_around_its_operand(tmp_path: Path) -> None:
    """`-math.log(max(1e-12, min(1.0, q)))` becomes `-math.log(q, base)` (a log base, the feature) and loses the
    clamp: a certain wrong prediction (q = 0) is a math domain error. The clamp is two calls whose operand is
    their second argument; putting back `min(1.0, …)` alone still fails, the two together fix it and keep the
    base (review 18: geomkit's `acos(max(-1, min(1, x)))`)."""
    repo = _Repo(tmp_path / "repo", 43)
    old = ('import math\n\n\ndef log_loss(probs, labels):\n    """Mean negative log-likelihood of the labels."""\n'
           "    total = 0.0\n    for p, y in zip(probs, labels):\n        q = p if y else 1.0 - p\n"
           "        total += -math.log(max(1e-12, min(1.0, q)))\n    return total / len(probs)\n")
    new = ('import math\n\n\ndef log_loss(probs, labels, base=math.e):\n'
           '    """Mean negative log-likelihood of the labels, in the given log base."""\n'
           "    total = 0.0\n    for p, y in zip(probs, labels):\n        q = p if y else 1.0 - p\n"
           "        total += -math.log(q, base)\n    return total / len(probs)\n")
    test = ("from evalkit.metrics import log_loss\n\n\ndef test_bits():\n"
            "    assert abs(log_loss([0.5, 0.75], [1, 0], base=2) - 1.5) < 1e-9\n")
    repo.commit("evalkit: log loss", {"evalkit/__init__.py": "", "evalkit/metrics.py": old})
    bad = repo.commit("evalkit: log loss in any base", {"evalkit/metrics.py": new, "tests/test_metrics.py": test})
    repo.commit("docs", {"README.md": "evalkit\n"})
    report = _reported(repo, "from evalkit.metrics import log_loss", "log_loss([1.0, 0.5], [0, 1])", "evalkit")
    assert "math domain error" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "max(1e-12, min(1.0, …))" in result.candidate.description, \
        result.attempts
    text = (repo.path / "evalkit/metrics.py").read_text()
    assert "        total += -math.log(max(1e-12, min(1.0, q)), base)\n" in text, text


_KV_OLD = '''import re

LINE = re.compile(r"^(?P<key>[\\w.-]+)\\s*=\\s*(?P<value>.*)$")


class ConfigSyntaxError(ValueError):
    pass


def parse(text):
    out = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if m is None:
            raise ConfigSyntaxError(f"line {n}: cannot parse {line!r}")
        out[m.group("key")] = m.group("value")
    return out
'''


def test_a_regex_that_lost_two_whitespace_runs_to_a_new_group_gets_both_back_and_keeps_the_group(
        tmp_path: Path) -> None:
    """`key\\s*=\\s*value` becomes `key(?::type)?=value` (typed values, the feature): one `\\s*` gave way to the
    new group, the other went. Undoing either place alone still refuses `host = db`, undoing the literal drops the
    types; both places back, the group kept, parse both (review 18: tmplrender's `{{ name }}`). The first place
    alone passes the repro and the suite but leaves a space in the value; the call's value at the last good
    commit (`agents.valueoracle`) tells them apart."""
    repo = _Repo(tmp_path / "repo", 47)
    new = _KV_OLD.replace(r"(?P<key>[\w.-]+)\s*=\s*(?P<value>.*)", r"(?P<key>[\w.-]+)(?::(?P<type>\w+))?=(?P<value>.*)")
    new = new.replace('        out[m.group("key")] = m.group("value")\n',
                      '        value = m.group("value")\n'
                      '        out[m.group("key")] = CASTS[m.group("type")](value) if m.group("type") else value\n')
    new = new.replace("\n\nclass ", '\nCASTS = {"int": int, "float": float, "str": str}\n\n\nclass ')
    assert new.count("CASTS") == 2 and "(?::(?P<type>" in new
    test = ("from kvconf.parse import parse\n\n\ndef test_typed():\n"
            "    assert parse('port:int=8080\\nname=web') == {'port': 8080, 'name': 'web'}\n")
    repo.commit("kvconf: key = value files", {"kvconf/__init__.py": "", "kvconf/parse.py": _KV_OLD})
    bad = repo.commit("kvconf: typed values", {"kvconf/parse.py": new, "tests/test_parse.py": test})
    repo.commit("docs", {"README.md": "kvconf\n"})
    report = _reported(repo, "from kvconf.parse import parse", "parse('host = db.internal\\nport=5432')", "kvconf")
    assert "cannot parse" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "token", result.attempts
    # one `\s*` back passes the repro and the suite, but production's call returned "db.internal" before
    assert any("no longer returns what it did before the regression" in a for a in result.attempts), result.attempts
    line = next(x for x in (repo.path / "kvconf/parse.py").read_text().splitlines() if x.startswith("LINE"))
    import re
    pattern = re.compile(line.split("re.compile(r", 1)[1][1:-2])
    assert "(?::(?P<type>" in line and pattern.match("host = db.internal")["value"] == "db.internal", line


def test_a_method_chain_a_rewritten_line_dropped_goes_back_on_its_operand(tmp_path: Path) -> None:
    """`name = TAGS[tag.strip().lower()]` becomes `name, w = TAGS[tag], (weight(post) if weight else 1)`
    (weighted counts, the feature): the tag's normalisation went with the rewrite, and `' Python'` is no key.
    The chain goes back on what the new line indexes with, the weights stay (review 18: slotplan's
    `weekday_index(day.strip().lower())`)."""
    repo = _Repo(tmp_path / "repo", 53)
    old = ('TAGS = {"python": "Python", "rust": "Rust"}\n\n\ndef tag_counts(posts):\n    counts = {}\n'
           '    for post in posts:\n        for tag in post["tags"]:\n            name = TAGS[tag.strip().lower()]\n'
           "            counts[name] = counts.get(name, 0) + 1\n    return counts\n")
    new = old.replace("def tag_counts(posts):", "def tag_counts(posts, weight=None):").replace(
        "            name = TAGS[tag.strip().lower()]\n",
        "            name, w = TAGS[tag], (weight(post) if weight else 1)\n").replace("0) + 1\n", "0) + w\n")
    test = ("from blog.tags import tag_counts\n\n\ndef test_weighted():\n"
            "    posts = [{'tags': ['python'], 'views': 3}, {'tags': ['python', 'rust'], 'views': 2}]\n"
            "    assert tag_counts(posts, weight=lambda p: p['views']) == {'Python': 5, 'Rust': 2}\n")
    repo.commit("blog: tag counts", {"blog/__init__.py": "", "blog/tags.py": old})
    bad = repo.commit("blog: weighted tag counts", {"blog/tags.py": new, "tests/test_tags.py": test})
    repo.commit("docs", {"README.md": "blog\n"})
    report = _reported(repo, "from blog.tags import tag_counts", "tag_counts([{'tags': [' Python', 'rust']}])",
                       "blog")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and ".strip().lower() around tag" in result.candidate.description, \
        result.attempts
    text = (repo.path / "blog/tags.py").read_text()
    assert "            name, w = TAGS[tag.strip().lower()], (weight(post) if weight else 1)\n" in text, text


def test_a_guard_lost_when_a_local_was_inlined_goes_back_around_the_inlined_value(tmp_path: Path) -> None:
    """`end = None if seconds is None else start + seconds; return {..., "end": end}` becomes `return {...,
    "end": start + seconds}` with a plan's default window (the feature): a plan without one crashes on None.
    Read with the local inlined, the old line's conditional is a dropped wrapper, and it goes back around the new
    value; `(seconds or 0)` would end the window at once (review 18: memocache's `ttl or 0`)."""
    repo = _Repo(tmp_path / "repo", 59)
    old = ('def window(start, seconds=None):\n    """A rate window; no seconds: it never ends."""\n'
           '    end = None if seconds is None else start + seconds\n    return {"start": start, "end": end}\n')
    new = ('PLAN_WINDOWS = {"pro": 60, "team": 300}\n\n\ndef window(start, seconds=None, plan="free"):\n'
           '    """A rate window; no seconds: the plan\'s window."""\n'
           "    seconds = seconds if seconds is not None else PLAN_WINDOWS.get(plan)\n"
           '    return {"start": start, "end": start + seconds}\n')
    test = ("from ratelim.windows import window\n\n\ndef test_plans():\n"
            "    assert window(100, plan='pro') == {'start': 100, 'end': 160}\n"
            "    assert window(100, 5) == {'start': 100, 'end': 105}\n")
    repo.commit("ratelim: windows", {"ratelim/__init__.py": "", "ratelim/windows.py": old})
    bad = repo.commit("ratelim: plan windows", {"ratelim/windows.py": new, "tests/test_windows.py": test})
    repo.commit("docs", {"README.md": "ratelim\n"})
    report = _reported(repo, "from ratelim.windows import window", "window(100)", "ratelim")
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and "None if seconds is None else" in result.candidate.description, \
        result.attempts
    text = (repo.path / "ratelim/windows.py").read_text()
    assert '    return {"start": start, "end": None if seconds is None else start + seconds}\n' in text, text
    assert "PLAN_WINDOWS.get(plan)" in text


def test_a_caller_left_behind_when_a_set_became_a_mapping_takes_its_keys(tmp_path: Path) -> None:
    """`enabled(account)` returned a set of flags and now maps each flag to the plan that grants it (`source()`,
    the feature); `set(wanted) & enabled(account)` in another module was left behind: 'set' and 'dict' do not
    mix. Converting the new mapping to the set the caller expected fixes the caller and keeps the mapping
    (review 18: permcheck)."""
    repo = _Repo(tmp_path / "repo", 61)
    flags = ('PLANS = {"free": ["search"], "pro": ["search", "export"]}\n\n\ndef enabled(account):\n'
             '    return set(PLANS[account["plan"]])\n')
    gate = ("from flagkit.flags import enabled\n\n\ndef allowed(account, wanted):\n"
            "    return sorted(set(wanted) & enabled(account))\n")
    repo.commit("flagkit: flags per plan", {"flagkit/__init__.py": "", "flagkit/flags.py": flags,
                                            "flagkit/gate.py": gate})
    new = ('PLANS = {"free": ["search"], "pro": ["search", "export"]}\n\n\ndef enabled(account):\n'
           '    """{flag: the plan that grants it}."""\n'
           '    return {flag: account["plan"] for flag in PLANS[account["plan"]]}\n\n\n'
           "def source(account, flag):\n    return enabled(account).get(flag)\n")
    test = ("from flagkit.flags import source\n\n\ndef test_source():\n"
            "    assert source({'plan': 'pro'}, 'export') == 'pro'\n")
    bad = repo.commit("flagkit: which plan grants a flag", {"flagkit/flags.py": new, "tests/test_flags.py": test})
    repo.commit("docs", {"README.md": "flagkit\n"})
    report = _reported(repo, "from flagkit.gate import allowed", "allowed({'plan': 'pro'}, ['export', 'beta'])",
                       "flagkit")
    assert "'set' and 'dict'" in report.error
    _, result = repro_bisect_repair(repo, report, bad)
    assert result.candidate is not None and result.candidate.unit == "template:coerce", result.attempts
    assert "    return sorted(set(wanted) & set(enabled(account)))\n" in (repo.path / "flagkit/gate.py").read_text()
    assert "def source(" in (repo.path / "flagkit/flags.py").read_text()


async def test_the_regression_test_asserts_the_value_production_s_call_returned_before_the_regression(
        tmp_path: Path) -> None:
    """A fix that gives production's call back the value it returned at the last good commit commits a
    regression test that asserts that value, not only that the call no longer raises (reviews 16, 18, 19: a
    test that asserts nothing also passes a wrong fix)."""
    repo = _Repo(tmp_path / "repo", 48)
    new = _KV_OLD.replace(r"(?P<key>[\w.-]+)\s*=\s*(?P<value>.*)", r"(?P<key>[\w.-]+)(?::(?P<type>\w+))?=(?P<value>.*)")
    new = new.replace('        out[m.group("key")] = m.group("value")\n',
                      '        value = m.group("value")\n'
                      '        out[m.group("key")] = CASTS[m.group("type")](value) if m.group("type") else value\n')
    new = new.replace("\n\nclass ", '\nCASTS = {"int": int, "float": float, "str": str}\n\n\nclass ')
    test = ("from kvconf.parse import parse\n\n\ndef test_typed():\n"
            "    assert parse('port:int=8080\\nname=web') == {'port': 8080, 'name': 'web'}\n")
    files = {"kvconf/__init__.py": "", "kvconf/parse.py": _KV_OLD, "tests/__init__.py": "",
             "tests/test_parse.py": "from kvconf.parse import parse\n\n\ndef test_plain():\n"
                                    "    assert parse('a=1') == {'a': '1'}\n"}
    repo.commit("kvconf: key = value files", files)
    bad = repo.commit("kvconf: typed values", {**files, "kvconf/parse.py": new, "tests/test_typed.py": test})
    repo.commit("docs", {"README.md": "kvconf\n"})
    report = _reported(repo, "from kvconf.parse import parse", "parse('host = db.internal\\nport=5432')", "kvconf")
    result = await _investigate(RegressionCase(repo.path, "valued", 48, bad, report), tmp_path)
    express, impl = result["express"], result["implement"]
    assert express["status"] == "fixed" and impl["regression_test"], (express, impl)
    written = _shown(repo, express["branch"], impl["regression_test"])
    assert ("self.assertEqual(parse('host = db.internal\\nport=5432'), {'host': 'db.internal', 'port': '5432'})"
            in written), written
