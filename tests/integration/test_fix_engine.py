"""The fix engine on real git repositories and real test runs: reproduce, bisect, repair smallest first.

Each test builds a small repository with a history, runs the four agents in-process (the same code the
Ray runtime hosts) and checks what a user would: the suspect, how it was found, the repro, and that the
fix branch passes the repository's own tests and keeps what later commits added.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from agents.bisect import bisect
from agents.findrepro import find_repro
from agents.testing.regressions import RegressionCase, _Repo, _report, _traceback
from agents.testing.scenarios import make_scenario
from swarm.models import ErrorReport
from swarm.runtime.local import run_in_process as run_investigation

T = "import unittest\n\nfrom {pkg}.{mod} import {name}\n\n\nclass T(unittest.TestCase):\n"


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=True).stdout


async def _investigate(case: RegressionCase, tmp: Path) -> dict[str, Any]:
    config = {"workspace_root": str(tmp / "ws"), "orchestration": {"max_cycles": 1, "max_hypotheses": 3}}
    return await run_investigation(case.report, case.repository, config, options={"brain": "offline"})


def _branch_passes(case: RegressionCase, branch: str, where: Path) -> bool:
    _git(case.path, "worktree", "add", "-q", "--detach", str(where), branch)
    try:
        cmd = case.test_command.split()
        cmd[0] = sys.executable
        return subprocess.run(cmd, cwd=where, capture_output=True).returncode == 0
    finally:
        _git(case.path, "worktree", "remove", "--force", str(where))


def _blame(case: RegressionCase) -> str:
    file, line = case.report.context.file or "", case.report.context.line or 1
    return _git(case.path, "blame", "--porcelain", "-L", f"{line},{line}", "--", file).split(" ", 1)[0]


async def test_newest_commit_with_a_feature_is_repaired_by_a_partial_revert_that_keeps_the_feature(
        tmp_path: Path) -> None:
    case = make_scenario(tmp_path / "repo", "newest", seed=0, split="dev")
    assert _git(case.path, "rev-parse", "HEAD").strip() == case.regression_commit
    out = await _investigate(case, tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and out["review"]["verdict"] == "approve"
    assert express["suspect_commit"] == case.regression_commit and express["suspect_method"] == "bisected"
    assert impl["repro"]["kind"] == "test" and impl["fix_kind"] in ("token", "hunk")
    fixed = _git(case.path, "show", f"{express['branch']}:{case.must_keep[0][0]}")
    assert case.must_keep[0][1] in fixed  # the feature of the regressing commit survives
    assert _git(case.path, "diff", "--name-only", case.regression_commit, express["branch"], "--", "tests") == ""
    assert _branch_passes(case, express["branch"], tmp_path / "check")


def _caller_repo(path: Path) -> RegressionCase:
    """The bug is in a caller (service.py); a later commit reformats the line that raises (store.py)."""
    repo = _Repo(path, 7)
    store = 'PRICES = {"tea": 3, "cake": 5}\n\n\ndef price_of(name):\n    return PRICES[name]\n'
    good = "from cafe.store import price_of\n\n\ndef bill(items):\n    return sum(price_of(n.strip().lower()) " \
           "for n in items)\n"
    files = {"cafe/__init__.py": "", "tests/__init__.py": "", "cafe/store.py": store, "cafe/service.py": good,
             "tests/test_service.py": T.format(pkg="cafe", mod="service", name="bill")
             + "    def test_bill(self):\n        self.assertEqual(bill([' Tea', 'cake']), 8)\n"}
    repo.commit("cafe", files)
    repo.commit("docs", {**files, "README.md": "cafe\n"})
    bad = repo.commit("service: tidy", {**files, "cafe/service.py": good.replace(".strip().lower()", ".strip()")})
    repo.commit("store: style", {**files, "cafe/service.py": good.replace(".strip().lower()", ".strip()"),
                                 "cafe/store.py": store.replace("PRICES[name]", "PRICES[ name ]  # by name")})
    code = "from cafe.service import bill; bill(['Tea'])"
    return RegressionCase(path, "caller", 7, bad, _report(path, "cafe", _traceback(path, code)), crash_code=code)


def _red_cafe(path: Path, menu_tests: str, pinned: str = "") -> RegressionCase:
    """The caller repository with a second regression that its suite catches (the opening hour moved from 8 to 9):
    the suite is red at HEAD without the reported error's fix; `pinned`: more tests of the service."""
    case = _caller_repo(path)
    repo = _Repo(case.path, 7)
    files = {p: (case.path / p).read_text() for p in ("cafe/__init__.py", "tests/__init__.py", "cafe/store.py",
                                                      "cafe/service.py", "tests/test_service.py")}
    menu = "def opening_hour():\n    return 8\n\n\ndef closing_hour():\n    return 18\n"
    files |= {"cafe/menu.py": menu, "tests/test_service.py": files["tests/test_service.py"] + pinned,
              "tests/test_menu.py": T.format(pkg="cafe", mod="menu", name="opening_hour") + menu_tests}
    repo.commit("menu", files)
    repo.commit("menu: open later", {**files, "cafe/menu.py": menu.replace("return 8", "return 9")})
    return case


OPENS_AT_EIGHT = "    def test_opens_at_eight(self):\n        self.assertEqual(opening_hour(), 8)\n"


async def test_a_suite_red_at_head_from_another_failure_still_gets_the_fix_with_no_test_newly_failing(
        tmp_path: Path) -> None:
    """A second regression, which the suite does catch, keeps it red at HEAD. The reported error's fix is judged
    as benchmark harnesses judge one (PASS_TO_PASS): the repro passes and no test that passed at HEAD fails; the
    review runs the base's suite to tell the fix's failures from those it started with."""
    case = _red_cafe(tmp_path / "repo", OPENS_AT_EIGHT)
    out = await _investigate(case, tmp_path)
    express, impl, review = out["express"], out["implement"], out["review"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit, impl
    assert impl["tests_before"]["failing"] == ["test_bill (tests.test_service.T.test_bill)",
                                               "test_opens_at_eight (tests.test_menu.T.test_opens_at_eight)"], impl
    assert impl["tests_after"]["failing"] == ["test_opens_at_eight (tests.test_menu.T.test_opens_at_eight)"], impl
    assert "but for the tests that fail at HEAD without it (" in impl["summary"], impl["summary"]
    assert review["verdict"] == "approve", review
    assert review["feedback"].startswith("approved: the diff is clean and no test fails that passes on "), review
    assert "test_opens_at_eight" in review["feedback"] and review["tests"]["ok"] is False, review
    fixed = _git(case.path, "show", f"{express['branch']}:cafe/service.py")
    assert ".strip().lower()" in fixed and _git(case.path, "diff", "--name-only", "HEAD", express["branch"]) == \
        "cafe/service.py\n"


async def test_a_fix_that_fails_a_test_passing_at_head_is_refused_though_the_suite_was_red(tmp_path: Path) -> None:
    """PASS_TO_PASS cuts one way only: with the suite red at HEAD (another regression), a candidate that cures the
    repro but fails a test that passed at HEAD is no fix; the no_fix says so, naming what was red before."""
    # a test that pins the regressed behaviour: any fix of the reported error fails it
    case = _red_cafe(tmp_path / "repo", OPENS_AT_EIGHT, pinned="\n    def test_keeps_case(self):\n"
                     "        with self.assertRaises(KeyError):\n            bill(['Tea'])\n")
    out = await _investigate(case, tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "no_fix", impl
    assert "without failing a test that passes at HEAD (the suite fails at HEAD without any patch: " \
        "test_opens_at_eight (tests.test_menu.T.test_opens_at_eight))" in impl["reason"], impl["reason"]


async def test_a_bug_in_a_caller_is_found_by_bisect_where_blame_fails(tmp_path: Path) -> None:
    case = _caller_repo(tmp_path / "repo")
    assert _blame(case) != case.regression_commit  # blame of the crash line names the style commit
    out = await _investigate(case, tmp_path)
    express = out["express"]
    assert express["suspect_commit"] == case.regression_commit and express["suspect_method"] == "bisected"
    assert express["status"] == "fixed" and _branch_passes(case, express["branch"], tmp_path / "check")
    assert ".lower()" in _git(case.path, "show", f"{express['branch']}:cafe/service.py")


def _untested_caller_repo(path: Path) -> tuple[str, ErrorReport]:
    """A caller stopped normalising its input (service.py) and no test covers it; the error is reported by the
    real reporter from the running application (`report_from_exception`: the callers' arguments go along)."""
    repo = _Repo(path, 9)
    store = 'PRICES = {"tea": 3, "cake": 5}\n\n\ndef price_of(name):\n    return PRICES[name]\n'
    good = ("from cafe.store import price_of\n\n\ndef bill(items):\n    total = 0\n    for n in items:\n"
            "        total += price_of(n.strip().lower())\n    return total\n")
    files = {"cafe/__init__.py": "", "tests/__init__.py": "", "cafe/store.py": store, "cafe/service.py": good,
             "tests/test_store.py": T.format(pkg="cafe", mod="store", name="price_of")
             + "    def test_price(self):\n        self.assertEqual(price_of('tea'), 3)\n"}
    repo.commit("cafe", files)
    repo.commit("docs", {**files, "README.md": "cafe\n"})
    files["cafe/service.py"] = good.replace(".strip().lower()", ".strip()")
    bad = repo.commit("service: tidy", files)
    repo.commit("store: pie", {**files, "cafe/store.py": store.replace('"cake": 5', '"cake": 5, "pie": 4')})
    app = ("import sys\nfrom swarm.reporting.reporter import report_from_exception\nfrom cafe.service import bill\n"
           "try:\n    bill(['Tea '])\nexcept KeyError:\n"
           "    print(report_from_exception(sys.exc_info(), service='cafe', root='.').model_dump_json())\n")
    out = subprocess.run([sys.executable, "-c", app], cwd=path, capture_output=True, text=True, check=True).stdout
    return bad, ErrorReport.model_validate_json(out)


async def test_a_caller_that_stopped_normalising_is_bisected_with_its_own_captured_arguments(tmp_path: Path) -> None:
    """The crashing function is called with the report's value ('Tea') at every commit and fails at every one: it
    never accepted it. The caller's call, with the arguments the reporter captured for it, passes before the
    regression: bisect names it, and the fix restores the caller's normalisation (review 15, problem 9)."""
    bad, report = _untested_caller_repo(tmp_path / "repo")
    assert [c["function"] for c in report.context.model_extra["calls"]] == ["bill"]
    case = RegressionCase(tmp_path / "repo", "caller", 9, bad, report)
    out = await _investigate(case, tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["suspect_commit"] == bad and express["suspect_method"] == "bisected", express
    assert impl["repro"]["target"] == "cafe/service.py:bill" and "the caller bill()" in impl["repro"]["detail"]
    assert express["status"] == "fixed" and out["review"]["verdict"] == "approve"
    assert ".strip().lower()" in _git(case.path, "show", f"{express['branch']}:cafe/service.py")
    # with the fix, a regression test: the caller's call with the captured arguments, where the suite finds it
    test = impl["regression_test"]
    assert test == f"tests/test_swarm_bill_{out['investigation_id'][4:16]}.py", impl
    assert _git(case.path, "diff", "--name-only", "main", express["branch"]).split() == ["cafe/service.py", test]
    assert "bill(['Tea '])" in _git(case.path, "show", f"{express['branch']}:{test}")
    assert impl["tests_after"]["passed"] == impl["tests_before"]["passed"] + 1
    assert express["regression_test"] == test and f"**Regression test.** `{test}`" in express["summary"]
    where = tmp_path / "check"
    _git(case.path, "worktree", "add", "-q", "--detach", str(where), express["branch"])
    module = test[:-3].replace("/", ".")
    passes = subprocess.run([sys.executable, "-m", "unittest", module], cwd=where, capture_output=True, text=True)
    (where / "cafe" / "service.py").write_text(_git(case.path, "show", "main:cafe/service.py"))
    unfixed = subprocess.run([sys.executable, "-m", "unittest", module], cwd=where, capture_output=True, text=True)
    assert passes.returncode == 0 and unfixed.returncode == 1 and "KeyError: 'Tea'" in unfixed.stderr, unfixed.stderr


def _src_layout_repo(path: Path, test_command: str) -> RegressionCase:
    """A package under src/ tested with pytest (a conftest puts src/ on the path); a commit made a rate table's
    lookup strict, and no test asks for an unknown zone."""
    repo = _Repo(path, 11)
    good = 'RATES = {"eu": 2, "us": 3}\n\n\ndef quote(zone, kg):\n    return RATES.get(zone, 5) * kg\n'
    files = {"src/shop/__init__.py": "", "src/shop/rates.py": good,
             "conftest.py": "import os\nimport sys\n\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), "
                            "'src'))\n",
             "tests/test_rates.py": "from shop.rates import quote\n\n\ndef test_eu():\n"
                                    "    assert quote('eu', 2) == 4\n"}
    repo.commit("shop", files)
    strict = good.replace("RATES.get(zone, 5)", "RATES[zone]")
    bad = repo.commit("rates: strict zones", {**files, "src/shop/rates.py": strict})
    app = ("import sys\nsys.path.insert(0, 'src')\nfrom swarm.reporting.reporter import report_from_exception\n"
           "from shop.rates import quote\ntry:\n    quote('asia', 1)\nexcept KeyError:\n"
           "    print(report_from_exception(sys.exc_info(), service='shop', root='.').model_dump_json())\n")
    out = subprocess.run([sys.executable, "-c", app], cwd=path, capture_output=True, text=True, check=True).stdout
    return RegressionCase(path, "src", 11, bad, ErrorReport.model_validate_json(out), test_command=test_command)


async def test_a_regression_test_is_added_only_where_the_test_command_runs_it(tmp_path: Path) -> None:
    """pytest, a package under src/: the test imports it from there as its code does, and the suite runs it. A test
    command that names one test file would not run it: the fix goes without a test, and says why."""
    case = _src_layout_repo(tmp_path / "repo", "python -m pytest -q")
    out = await _investigate(case, tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit, impl
    test = impl["regression_test"]
    assert test is not None and test.startswith("tests/test_swarm_quote_"), impl
    text = _git(case.path, "show", f"{express['branch']}:{test}")
    assert "quote('asia', 1)" in text and "'src'" in text and out["review"]["verdict"] == "approve"
    assert impl["tests_after"]["passed"] == impl["tests_before"]["passed"] + 1
    narrow = _src_layout_repo(tmp_path / "narrow", "python -m pytest -q tests/test_rates.py")
    out = await _investigate(narrow, tmp_path / "n")
    assert out["express"]["status"] == "fixed" and out["implement"]["regression_test"] is None
    assert _git(narrow.path, "diff", "--name-only", "main", out["express"]["branch"]).split() == ["src/shop/rates.py"]
    assert out["implement"]["regression_test_why_not"].endswith(": the repository's test command does not run it")


def packaging_case(path: Path, seed: int, body: str, packaged: str, grams: int = 1700) -> RegressionCase:
    """A parcel quote whose function `body` converts grams to kilograms; the suspect, its second commit, adds a
    packaging weight (`packaged` replaces `body`); the report is the real reporter's, with the caller's
    arguments, of an order of `grams` (1,700 g)."""
    repo = _Repo(path, seed)
    rates = ("class TooHeavy(Exception):\n    pass\n\n\ndef price(kg):\n    if kg > 30:\n"
             "        raise TooHeavy(f'parcel too heavy: {kg} kg')\n    return 5 if kg < 1 else 9\n")
    quote = "from ship.rates import price\n\n\ndef quote(items):\n" + body
    files = {"ship/__init__.py": "", "ship/rates.py": rates, "ship/quote.py": quote, "tests/__init__.py": "",
             "tests/test_rates.py": T.format(pkg="ship", mod="rates", name="price")
             + "    def test_light(self):\n        self.assertEqual(price(0.5), 5)\n"}
    repo.commit("ship", files)
    files["ship/quote.py"] = quote.replace("def quote", "PACKAGING_G = 150\n\n\ndef quote").replace(body, packaged)
    bad = repo.commit("quote: include packaging weight", files)
    repo.commit("docs", {**files, "README.md": "ship\n"})
    app = ("import sys\nfrom swarm.reporting.reporter import report_from_exception\nfrom ship.quote import quote\n"
           f"try:\n    quote([{{'g': {grams}}}])\nexcept Exception:\n"
           "    print(report_from_exception(sys.exc_info(), service='ship', root='.').model_dump_json())\n")
    out = subprocess.run([sys.executable, "-c", app], cwd=path, capture_output=True, text=True, check=True)
    return RegressionCase(path, "caller", seed, bad, ErrorReport.model_validate_json(out.stdout))


async def test_a_conversion_lost_with_a_feature_is_put_back_and_the_feature_kept(tmp_path: Path) -> None:
    """The suspect added packaging (`PACKAGING_G`) and lost the grams-to-kilograms conversion with it (the line
    that converted went, the price is asked of the grams). Undoing its hunk passes, but deletes the feature
    (review 16: such fixes went out silently); the conversion put back around what is priced now
    (`agents.transfer`) passes and keeps the packaging. Where the conversion
    closed the very line the suspect rewrote, it is put back on the whole new value instead
    (`test_fix_engine_dropped.py`)."""
    case = packaging_case(tmp_path / "repo", 16, "    grams = sum(i['g'] for i in items)\n"
                          "    weight = grams / 1000\n    return price(weight)\n",
                          "    grams = sum(i['g'] for i in items) + PACKAGING_G\n    return price(grams)\n")
    result = await _investigate(case, tmp_path)
    express = result["express"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit, result["implement"]
    fixed = _git(case.path, "show", f"{express['branch']}:ship/quote.py")
    assert "/ 1000" in fixed and "+ PACKAGING_G" in fixed, fixed
    assert "it deletes what the suspect commit added" not in express["summary"], express["summary"]


async def test_values_the_crashing_function_never_accepted_get_no_crash_site_patch_and_no_bisected_blame(
        tmp_path: Path) -> None:
    """The same report without the callers' arguments (a publisher of its own, an older reporter): the call fails
    at every commit down to the first, which is not named as 'bisected', and `PRICES.get(name)` at the crash site,
    which passes that call and the tests, is not claimed: it changes what the function accepts, not what broke
    (review 15, problems 2 and 3)."""
    bad, report = _untested_caller_repo(tmp_path / "repo")
    report.context.model_extra.pop("calls")
    out = await _investigate(RegressionCase(tmp_path / "repo", "caller", 9, bad, report), tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "no_fix" and express["suspect_method"] == "ranked", express
    assert express["suspect_commit"] == bad  # ranked from the history of the failing path: right here
    assert impl["repro"]["target"] == "cafe/store.py:price_of" and impl["repro"]["never_passed"] is True
    assert "never accepted at any commit" in impl["reason"] and "PRICES.get(name)" in impl["reason"], impl["reason"]
    # a ranked suspect is a guess ("most likely"), and the reader is shown what it changed on the way
    assert ("(ranked from the history, not confirmed by a repro: the report's values fail the call at every commit "
            "that runs it) most likely introduced") in express["root_cause"], express["root_cause"]
    assert ("it changed cafe/service.py: `- total += price_of(n.strip().lower())` -> "
            "`+ total += price_of(n.strip())`") in express["root_cause"], express["root_cause"]
    assert _git(tmp_path / "repo", "branch", "--list", "swarm/fix/*").strip() == ""


async def test_a_reformatted_crash_line_still_gets_the_right_suspect_and_a_fix(tmp_path: Path) -> None:
    case = make_scenario(tmp_path / "repo", "reformatted", seed=1, split="dev")
    assert _blame(case) != case.regression_commit
    out = await _investigate(case, tmp_path)
    assert out["express"]["suspect_commit"] == case.regression_commit
    assert out["express"]["status"] == "fixed" and _branch_passes(case, out["express"]["branch"], tmp_path / "c")


def _untested_repo(path: Path, *, callable_: bool) -> RegressionCase:
    repo = _Repo(path, 3)
    # not callable: the crash depends on the argument production passed, which no probe value can stand for
    # (nor the message's own 'timeout_s': the key is built from the argument)
    sig, key, arg = ("path=None", "'timeout'", "'x'") if callable_ else ("name", "name + '_s'", "'timeout'")
    good = f"def load({sig}):\n    cfg = {{'retries': '3'}}\n    return int(cfg.get('retries', 0))\n"
    bad = f"def load({sig}):\n    cfg = {{'retries': '3'}}\n    return int(cfg[{key}])\n"
    files = {"svc/__init__.py": "", "tests/__init__.py": "", "svc/config.py": good,
             "svc/other.py": "def one():\n    return 1\n",
             "tests/test_other.py": T.format(pkg="svc", mod="other", name="one")
             + "    def test_one(self):\n        self.assertEqual(one(), 1)\n"}
    repo.commit("svc", files)
    regression = repo.commit("config: timeout", {**files, "svc/config.py": bad})
    code = f"from svc.config import load; load({arg})"
    return RegressionCase(path, "untested", 3, regression, _report(path, "svc", _traceback(path, code)),
                          crash_code=code)


async def test_without_a_reproducing_test_a_repro_is_built_from_the_stack(tmp_path: Path) -> None:
    case = _untested_repo(tmp_path / "repo", callable_=True)
    out = await _investigate(case, tmp_path)
    impl, express = out["implement"], out["express"]
    assert impl["repro"]["kind"] == "built" and "no test reproduces it" in impl["repro"]["detail"]
    assert express["suspect_commit"] == case.regression_commit and express["suspect_method"] == "bisected"
    assert express["status"] == "fixed" and out["review"]["verdict"] == "approve"


async def test_without_any_repro_the_result_says_so_plainly(tmp_path: Path) -> None:
    case = _untested_repo(tmp_path / "repo", callable_=False)
    out = await _investigate(case, tmp_path)
    impl = out["implement"]
    assert impl["repro"]["kind"] == "none" and out["express"]["status"] == "no_fix"
    assert "no repro" in impl["reason"] and "no failing test raises KeyError" in impl["reason"]
    assert out["express"]["repro"]["kind"] == "none"
    # the suspect, ranked without a repro, is named as a guess (review 23: it read as confidently as a bisected one)
    assert out["express"]["suspect_method"] == "ranked", out["express"]
    assert "most likely commit, ranked from the history, not confirmed by a repro (a guess): " in impl["reason"]
    assert out["express"]["suspect_commit"][:7] in impl["reason"].rsplit("(a guess): ", 1)[1]


async def test_with_no_repro_a_fix_of_another_failing_test_is_not_claimed(tmp_path: Path) -> None:
    """A new user's repository: `KeyError: 'total'` reported in calc/report.py (file, line, function; no stack)
    that no test raises, and an unrelated regression in calc/stats.py failing its own test. Undoing that
    one (the suspect a ranking picks without a repro) turns the suite green; it ended `fixed` for the
    KeyError. With no repro, a fix must edit a file the report names."""
    repo = _Repo(tmp_path / "repo", 5)
    files = {
        "calc/__init__.py": "", "tests/__init__.py": "",
        "calc/stats.py": "def mean(values):\n    if not values:\n        return 0.0\n"
                         "    return sum(values) / len(values)\n",
        "calc/report.py": "from calc.stats import mean\n\n\ndef summary(orders):\n"
                          "    return {'count': len(orders), 'avg': mean([o['total'] for o in orders])}\n",
        "tests/test_stats.py": "from calc.stats import mean\n\n\ndef test_mean():\n"
                               "    assert mean([1, 2, 3]) == 2\n\n\n"
                               "def test_mean_empty():\n    assert mean([]) == 0.0\n",
        "tests/test_report.py": "from calc.report import summary\n\n\ndef test_summary():\n"
                                "    assert summary([{'total': 2}, {'total': 4}]) == {'count': 2, 'avg': 3}\n",
    }
    repo.commit("calc", files)
    regression = repo.commit("stats: simplify mean", {
        **files, "calc/stats.py": "def mean(values):\n    return sum(values) / len(values)\n"})
    report = ErrorReport(error="KeyError: 'total'", service="calc",
                         context={"file": "calc/report.py", "line": 5, "function": "summary"})
    case = RegressionCase(repo.path, "unreproduced", 5, regression, report, test_command="python -m pytest -q")
    out = await _investigate(case, tmp_path)
    impl = out["implement"]
    assert impl["repro"]["kind"] == "none" and out["express"]["status"] == "no_fix", out["express"]
    assert "edits calc/stats.py, none of the files the report names (calc/report.py)" in impl["reason"], impl


async def test_with_no_repro_a_fix_of_another_function_of_the_reported_file_is_not_claimed(tmp_path: Path) -> None:
    """A new user's check: `jinja2.exceptions.UndefinedError` reported at shop/pricing.py:13 (in order_total,
    no stack) beside an unrelated regression in apply_discount of the same file, failing its own test. Undoing
    it turned the suite green and was claimed `fixed`: the file rule alone let it through. The report names
    order_total (the function holding its line); the change edits apply_discount only."""
    repo = _Repo(tmp_path / "repo", 5)
    pricing = ('DISCOUNTS = {"SPRING25": 25, "VIP10": 10}\n\n\n'
               "def apply_discount(price_cents, code=None):\n"
               '    """Return the price after the discount code, in cents."""\n'
               "    percent = DISCOUNTS.get(code, 0) if code else 0\n"
               "    return price_cents - price_cents * percent // 100\n\n\n"
               "def order_total(lines, code=None):\n"
               "    subtotal = sum(qty * unit for qty, unit in lines)\n"
               "    return apply_discount(subtotal, code)\n")
    tests = ("from shop.pricing import apply_discount, order_total\n\n\n"
             "def test_known_code():\n    assert apply_discount(1000, 'SPRING25') == 750\n\n\n"
             "def test_total():\n    assert order_total([(2, 500)], 'VIP10') == 900\n")
    files = {"shop/__init__.py": "", "tests/__init__.py": "", "shop/pricing.py": pricing,
             "tests/test_pricing.py": tests}
    repo.commit("pricing with discount codes", files)
    files["shop/util.py"] = "def cents(x):\n    return int(round(x * 100))\n"
    repo.commit("add cents helper", files)
    files["shop/pricing.py"] = pricing.replace(
        "    percent = DISCOUNTS.get(code, 0) if code else 0\n",
        "    code = code.strip().upper() if code else None\n    percent = DISCOUNTS[code] if code else 0\n")
    regression = repo.commit("normalise discount codes", files)
    files["tests/test_pricing.py"] = tests + ("\n\ndef test_unknown_code_is_ignored():\n"
                                             "    assert apply_discount(1000, 'EXPIRED') == 1000\n")
    repo.commit("tests for code normalisation", files)
    report = ErrorReport(error="jinja2.exceptions.UndefinedError: 'order' is undefined", service="checkout",
                         context={"file": "shop/pricing.py", "line": 13})
    case = RegressionCase(repo.path, "unreproduced", 5, regression, report, test_command="python -m pytest -q")
    out = await _investigate(case, tmp_path)
    impl = out["implement"]
    assert impl["repro"]["kind"] == "none" and out["express"]["status"] == "no_fix", out["express"]
    assert "edits apply_discount() of shop/pricing.py, not the function the report names" in impl["reason"], impl
    assert "the report names shop/pricing.py but no function or stack to call" in impl["repro"]["detail"]


async def test_a_flaky_test_is_detected_and_no_fix_is_claimed(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    repo = _Repo(tmp_path / "repo", 5)
    body = (f"    p = pathlib.Path({str(counter)!r})\n    n = int(p.read_text()) if p.exists() else 0\n"
            "    p.write_text(str(n + 1))\n    return xs[n % 3 + 1] if n % 3 != 2 else xs[0]\n")
    code = "import pathlib\n\n\ndef pick(xs):\n" + body  # fails, fails, passes, fails, ...
    files = {"fl/__init__.py": "", "tests/__init__.py": "", "fl/core.py": "def pick(xs):\n    return xs[0]\n",
             "tests/test_core.py": T.format(pkg="fl", mod="core", name="pick")
             + "    def test_pick(self):\n        self.assertEqual(pick([7]), 7)\n"}
    repo.commit("fl", files)
    bad = repo.commit("fl: rotate", {**files, "fl/core.py": code})
    stack = _traceback(repo.path, "from fl.core import pick; pick([7])")
    counter.unlink()
    case = RegressionCase(repo.path, "flaky", 5, bad, _report(repo.path, "fl", stack))
    out = await _investigate(case, tmp_path)
    impl = out["implement"]
    assert out["express"]["status"] == "no_fix" and out["express"]["branch"] is None
    assert impl["repro"]["flaky"] is True and "flaky" in impl["reason"]


def test_of_two_tests_raising_the_same_message_the_one_at_the_reported_function_is_the_repro(
    tmp_path: Path,
) -> None:
    """`mean([])` and `ratio(3, 0)` both raise "division by zero"; the report is ratio's. The first failing
    test that matched type and message (mean's, listed first) was taken, and bisect blamed mean's commit."""
    repo = _Repo(tmp_path / "repo", 6)
    files = {
        "calc/__init__.py": "", "tests/__init__.py": "",
        "calc/stats.py": "def mean(values):\n    return sum(values) / len(values)\n\n\n"
                         "def ratio(part, whole):\n    return round(part / whole, 6)\n",
        "tests/test_stats.py": "from calc.stats import mean, ratio\n\n\ndef test_mean_empty():\n"
                               "    assert mean([]) == 0.0\n\n\n"
                               "def test_ratio_zero():\n    assert ratio(3, 0) == 0.0\n",
    }
    repo.commit("calc", files)
    code = "from calc.stats import ratio; ratio(3, 0)"
    report = _report(repo.path, "calc", _traceback(repo.path, code))
    assert report.context.function == "ratio"
    repro = find_repro(repo.path, report, "python -m pytest -q")
    assert repro.kind == "test" and repro.target == "tests/test_stats.py::test_ratio_zero", repro.detail


def test_bisect_skips_an_unbuildable_commit(tmp_path: Path) -> None:
    repo = _Repo(tmp_path / "repo", 9)
    good = "RATES = {'a': 1}\n\n\ndef rate(k):\n    return RATES.get(k, 0)\n"
    files = {"bx/__init__.py": "from bx import extra  # noqa\n", "bx/extra.py": "X = 1\n", "tests/__init__.py": "",
             "bx/core.py": good, "tests/test_core.py": T.format(pkg="bx", mod="core", name="rate")
             + "    def test_rate(self):\n        self.assertEqual(rate('z'), 0)\n"}
    repo.commit("bx", files)
    repo.commit("docs", {**files, "README": "bx\n"})
    bad_files = {**files, "bx/core.py": good.replace("RATES.get(k, 0)", "RATES[k]")}
    regression = repo.commit("core: strict", bad_files)
    broken = repo.commit("extra: wip", {**bad_files, "bx/extra.py": "X = (\n"})
    repo.commit("extra: done", {**bad_files, "bx/extra.py": "X = 2\n"})
    report = _report(repo.path, "bx", _traceback(repo.path, "from bx.core import rate; rate('z')"))
    repro = find_repro(repo.path, report, "python -m unittest discover -s tests -t .")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == regression and result.tested[broken] == "skip"
    assert _git(repo.path, "status", "--porcelain") == ""  # the checkout is left as it was


def test_bisect_that_jumps_past_a_good_commit_onto_an_untestable_one_comes_back_for_it(tmp_path: Path) -> None:
    """The walk back doubles its step (1, 2, 4 commits): here it lands on the root, where the repro cannot
    run (the module it imports is not there yet); the good commit it jumped over must be tried then."""
    repo = _Repo(tmp_path / "repo", 10)
    repo.commit("start", {"README": "wip\n"})  # untestable: no package, no tests
    good = "RATES = {'a': 1}\n\n\ndef rate(k):\n    return RATES.get(k, 0)\n"
    files = {"bj/__init__.py": "", "tests/__init__.py": "", "bj/core.py": good,
             "tests/test_core.py": T.format(pkg="bj", mod="core", name="rate")
             + "    def test_rate(self):\n        self.assertEqual(rate('z'), 0)\n"}
    repo.commit("bj", files)
    bad_files = {**files, "bj/core.py": good.replace("RATES.get(k, 0)", "RATES[k]")}
    regression = repo.commit("core: strict", bad_files)
    repo.commit("docs", {**bad_files, "README": "bj\n"})
    repo.commit("docs 2", {**bad_files, "README": "bj, rates\n"})
    report = _report(repo.path, "bj", _traceback(repo.path, "from bj.core import rate; rate('z')"))
    repro = find_repro(repo.path, report, "python -m unittest discover -s tests -t .")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == regression, result.to_dict()
    assert list(result.tested.values()).count("skip") == 1  # the root, then the good commit it jumped over


def test_where_the_head_test_cannot_run_bisect_asks_the_production_call_it_made(tmp_path: Path) -> None:
    """The failing HEAD test imports a module added after the regression. The call it made on the crash
    path (`minutes('2h')`, its arguments recorded at HEAD) is asked instead; without it the commit's own
    suite (which never tried '2h') would call the regressing commit good."""
    repo = _Repo(tmp_path / "repo", 11)
    parse = ("import re\n\nDUR = re.compile(r'^(?P<h>\\d+)h(?P<m>\\d+)m$')\n\n\ndef minutes(text):\n"
             "    m = DUR.match(text)\n    if not m:\n        return None\n"
             "    return int(m.group('h')) * 60 + int(m.group('m'))\n")
    files = {"dur/__init__.py": "", "dur/parse.py": parse,
             "tests/test_parse.py": "from dur.parse import minutes\n\n\ndef test_minutes():\n"
                                    "    assert minutes('1h30m') == 90\n"}
    repo.commit("dur: parse", files)
    files = {**files, "dur/parse.py": parse.replace("(?P<m>", "(?:(?P<m>").replace("m$", "m)?$")}
    regression = repo.commit("parse: hours alone", files)
    files = {**files, "dur/schedule.py": "from dur.parse import minutes\n\n\ndef total(entries):\n"
                                          "    return sum(minutes(e) for e in entries)\n",
             "tests/test_schedule.py": "from dur.schedule import total\n\n\ndef test_total():\n"
                                       "    assert total(['1h30m', '2h']) == 210\n"}
    repo.commit("schedule: totals", files)
    report = _report(repo.path, "dur", _traceback(repo.path, "from dur.schedule import total; total(['2h'])"))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test" and repro.target.endswith("test_total")
    result = bisect(repo.path, repro, budget_s=120)
    assert [c["function"] for c in result.captured] == ["total", "minutes"]
    assert result.captured[1]["code"].endswith(".minutes('2h')")
    assert result.first_bad == regression, result.to_dict()
    assert result.oracle == "the call minutes() HEAD's test made, with its arguments"  # judged both ends
    assert _git(repo.path, "status", "--porcelain") == ""


def test_when_the_head_test_fails_on_every_commit_each_commits_own_suite_finds_the_regression(
        tmp_path: Path) -> None:
    """The regressing commit changed a fixed-width format and its test together: HEAD's test (new format)
    fails on every older commit too. Each commit's own suite is asked in a second pass."""
    repo = _Repo(tmp_path / "repo", 12)
    layout = "NAME = slice(0, 10)\nAGE = slice(10, 13)\n"
    people = ("from fw import layout\n\n\ndef parse(line):\n"
              "    return {'name': line[layout.NAME].strip(), 'age': int(line[layout.AGE])}\n")
    files = {"fw/__init__.py": "", "fw/layout.py": layout, "fw/people.py": people,
             "tests/test_people.py": "from fw.people import parse\n\n\ndef test_parse():\n"
                                     "    assert parse('Ada       036') == {'name': 'Ada', 'age': 36}\n"}
    repo.commit("fw: people", files)
    files = {**files, "fw/layout.py": "NAME = slice(0, 10)\nCOUNTRY = slice(10, 12)\nAGE = slice(13, 16)\n",
             "tests/test_people.py": "from fw.people import parse\n\n\ndef test_parse():\n"
                                     "    assert parse('Ada       UK036|')['age'] == 36\n"}
    regression = repo.commit("layout: a country column", files)
    adults = "\n\ndef adults(rows):\n    return [r for r in rows if r['age'] >= 18]\n"
    files = {**files, "fw/people.py": people + adults,
             "tests/test_adults.py": "from fw.people import adults\n\n\ndef test_adults():\n"
                                     "    assert adults([{'age': 17}, {'age': 18}]) == [{'age': 18}]\n"}
    repo.commit("people: adults", files)
    report = _report(repo.path, "fw", _traceback(repo.path, "from fw.people import parse; parse('Bo        SE041|')"))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    assert repro.kind == "test"
    result = bisect(repo.path, repro, budget_s=120)
    assert result.first_bad == regression, result.to_dict()
    assert result.oracle.startswith("each commit's own test suite")
    assert "failed on every older commit" in result.reason


async def test_bad_inputs_end_in_a_clear_no_fix(tmp_path: Path) -> None:
    case = _untested_repo(tmp_path / "repo", callable_=False)
    missing = case.report.model_copy(update={
        "stack": 'Traceback (most recent call last):\n  File "/srv/app/nowhere/gone.py", line 3, in f\n'
                 "KeyError: 'timeout'\n",
        "context": case.report.context.model_copy(update={"file": "nowhere/gone.py", "function": "f"})})
    out = await run_investigation(missing, case.repository, {"workspace_root": str(tmp_path / "ws"),
                                  "orchestration": {"max_cycles": 1}}, options={"brain": "offline"})
    assert out["express"]["status"] == "no_fix"
    assert "'nowhere/gone.py' is not in the repository" in out["implement"]["repro"]["detail"]
    (case.path / "svc" / "__init__.py").write_text("import not_installed_dependency_xyz\n")  # tests cannot run
    _git(case.path, "add", "-A")
    _git(case.path, "-c", "user.name=d", "-c", "user.email=d@x", "commit", "-qm", "dep")
    out = await run_investigation(case.report, case.repository, {"workspace_root": str(tmp_path / "ws2"),
                                  "orchestration": {"max_cycles": 1}}, options={"brain": "offline"})
    assert out["express"]["status"] == "no_fix" and out["implement"]["repro"]["kind"] == "none"
    assert "no failing test raises KeyError" in out["implement"]["reason"]


def test_the_fix_engine_tools_a_model_calls(tmp_path: Path) -> None:
    """run_repro, bisect and try_patch through the Toolbox, as the Claude brain calls them."""
    from agents.fixtools import FixTools
    from agents.tools import Toolbox
    from agents.workspace import Workspace

    case = make_scenario(tmp_path / "repo", "feature_later", seed=1, split="dev")
    ws = Workspace.open(case.repository, root=tmp_path / "ws", investigation_id="tools", role="implement",
                        mode="write")
    try:
        tools = Toolbox(ws, role="implement", test_command=case.test_command,
                        fix=FixTools(ws, case.report, case.test_command))
        assert tools.call("run_repro", {}).startswith("bad: test repro")
        assert tools.call("bisect", {}).startswith(f"first bad commit {case.regression_commit}")
        assert ws.git("rev-parse", "--abbrev-ref", "HEAD").strip() == ws.branch  # bisect left the branch alone
        path = case.must_keep[0][0]
        text = (ws.root / path).read_text()
        wrong = _patch(ws, path, text.replace("int(value)", "int(value or 1)"))
        assert tools.call("try_patch", {"patch": wrong}).startswith("reverted: ")
        assert (ws.root / path).read_text() == text
        test_edit = _patch(ws, "tests/test_records.py",
                           (ws.root / "tests/test_records.py").read_text().replace("0)", "None)"))
        assert tools.call("try_patch", {"patch": test_edit}).startswith("rejected: the patch changes test files")
        right = _patch(ws, path, text.replace("int(value)", "int(value or 0)"))
        assert tools.call("try_patch", {"patch": right}).startswith("kept: ")
        assert "int(value or 0)" in (ws.root / path).read_text() and path in ws.changed
        assert tools.call("run_repro", {}).startswith("good: ")
    finally:
        ws.close()


def test_try_patch_on_a_suite_red_at_head_keeps_a_patch_that_fails_no_test_passing_there(tmp_path: Path) -> None:
    """The Claude brain's try_patch judges as the offline search does: with the suite at HEAD as its baseline, a
    patch that cures the repro and fails only what failed at HEAD is kept; one that fails a test passing there
    is reverted, naming it."""
    from agents.fixtools import FixTools
    from agents.tools import Toolbox
    from agents.workspace import Workspace

    case = _red_cafe(tmp_path / "repo", OPENS_AT_EIGHT + "\n    def test_closes(self):\n"
                     "        from cafe.menu import closing_hour\n        self.assertEqual(closing_hour(), 18)\n")
    ws = Workspace.open(case.repository, root=tmp_path / "ws", investigation_id="red", role="implement", mode="write")
    try:
        fix = FixTools(ws, case.report, case.test_command)
        tools = Toolbox(ws, role="implement", test_command=case.test_command, fix=fix)
        fix.baseline = tools.run_tests()
        assert not fix.baseline.ok and len(fix.baseline.failing) == 2, fix.baseline
        # no run_repro first: try_patch finds the repro on HEAD's code, not on the patched one
        service, menu_now = (ws.root / "cafe/service.py").read_text(), (ws.root / "cafe/menu.py").read_text()
        breaks = _patch(ws, "cafe/service.py", service.replace(".strip()", ".strip().lower()")) + _patch(
            ws, "cafe/menu.py", menu_now.replace("18", "17"))
        said = tools.call("try_patch", {"patch": breaks})
        assert said.startswith("reverted: the test suite fails: newly test_closes (tests.test_menu.T.test_closes)"), \
            said
        assert (ws.root / "cafe/menu.py").read_text() == menu_now
        right = _patch(ws, "cafe/service.py", service.replace(".strip()", ".strip().lower()"))
        said = tools.call("try_patch", {"patch": right})
        assert said.startswith("kept: the repro passes and no test fails that passes at HEAD (cafe/service.py; "
                               "failing at HEAD too: test_opens_at_eight"), said
    finally:
        ws.close()


def _patch(ws: Any, path: str, new_text: str) -> str:
    """A unified diff from the worktree's file to `new_text` (made with git, as a model would send it)."""
    old = (ws.root / path).read_text()
    (ws.root / path).write_text(new_text)
    try:
        return ws.git("diff", "--", path)
    finally:
        (ws.root / path).write_text(old)


async def test_a_removed_exception_handler_is_restored_around_the_crash_keeping_the_feature(tmp_path: Path) -> None:
    case = make_scenario(tmp_path / "repo", "handler_removed", seed=0, split="dev")
    out = await _investigate(case, tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit
    fixed = _git(case.path, "show", f"{express['branch']}:{case.must_keep[0][0]}")
    assert "except ValueError:" in fixed and "return 8080" in fixed  # the handler the commit removed
    assert case.must_keep[0][1] in fixed and impl["fix_kind"] == "template:handle"
    assert _branch_passes(case, express["branch"], tmp_path / "check")


async def test_a_dropped_statement_is_restored_alone_keeping_the_rest_of_the_commit(tmp_path: Path) -> None:
    case = make_scenario(tmp_path / "repo", "statement", seed=1, split="dev")
    out = await _investigate(case, tmp_path)
    express, impl = out["express"], out["implement"]
    assert express["status"] == "fixed" and express["suspect_commit"] == case.regression_commit
    assert impl["fix_kind"] == "statement"
    fixed = _git(case.path, "show", f"{express['branch']}:{case.must_keep[0][0]}")
    assert "name = name.strip().lower()" in fixed and "audit(name)" in fixed and case.must_keep[0][1] in fixed
    assert _branch_passes(case, express["branch"], tmp_path / "check")


async def test_the_repair_search_is_bounded_by_the_configured_budget(tmp_path: Path) -> None:
    """`repair:` in configs/swarm.yaml bounds the search: one candidate allowed, and the first one fails."""
    case = make_scenario(tmp_path / "repo", "newest", seed=0, split="dev")  # its first candidate does not pass
    config = {"workspace_root": str(tmp_path / "ws"), "orchestration": {"max_cycles": 1},
              "repair": {"max_candidates": 1}}
    out = await run_investigation(case.report, case.repository, config, options={"brain": "offline"})
    impl = out["implement"]
    assert out["express"]["status"] == "no_fix" and impl["search"]["tried"] == 1
    assert impl["reason"].startswith("search budget spent: 1 candidates")
    # a bisected suspect is no guess: the no_fix says it introduced the error (not "most likely"), and what it changed
    cause = out["express"]["root_cause"]
    assert "(bisected) introduced" in cause and "most likely" not in cause and "; it changed " in cause, cause
    unbounded = await _investigate(make_scenario(tmp_path / "repo2", "newest", seed=0, split="dev"), tmp_path)
    assert unbounded["express"]["status"] == "fixed" and unbounded["implement"]["search"]["tried"] > 1


def _repair_from(repo: _Repo, crash: str, regression: str, good: str) -> Any:
    """The repair search alone, the suspect given: the report is the traceback of `crash` run at HEAD."""
    from agents.repair import RepairBudget, repair, sites_for

    report = _report(repo.path, "svc", _traceback(repo.path, crash))
    repro = find_repro(repo.path, report, "python -m pytest -q tests")
    trace = repro.head_trace()
    assert repro.kind == "test" and trace is not None
    sites = sites_for(repo.path, [(f.path, f.line, f.function) for f in trace.frames], regression)
    return repair(repo.path, repro=repro, test_command="python -m pytest -q tests", suspects=[(regression, good)],
                  sites=sites, shape=repro.error_shape(), message=report.error, budget=RepairBudget())


def test_offsets_a_layout_change_slipped_by_one_are_shifted_back_together(tmp_path: Path) -> None:
    """A commit inserts a kind byte into a frame header and rewrites every offset after it; the last two
    are one too far. No single literal +-1 passes (each fixes one field of two), and undoing the commit's
    hunk drops the new field a later commit uses: the suspect's numbers from the slip on, shifted together,
    do."""
    repo = _Repo(tmp_path / "repo", 12)
    parse = ("from pkt import offsets\nfrom pkt.check import check\n\n\n"
             "def field(frame, at, size=2):\n    return int.from_bytes(frame[at:at + size], 'big')\n\n\n"
             "def parse(frame):\n    length = field(frame, offsets.LENGTH)\n"
             "    payload = frame[offsets.PAYLOAD:offsets.PAYLOAD + length]\n"
             "    check(payload, field(frame, offsets.CHECKSUM))\n"
             "    return {'version': frame[offsets.VERSION], 'payload': payload}\n")
    check = ("def check(payload, checksum):\n    if sum(payload) % 65536 != checksum:\n"
             "        raise ValueError(f'checksum {checksum} does not match the payload')\n")
    test = ("from pkt.parse import parse\n\n\ndef frame(payload):\n"
            "    return {head} + len(payload).to_bytes(2, 'big') + sum(payload).to_bytes(2, 'big') + payload\n\n\n"
            "def test_parse():\n    assert parse(frame(b'abc'))['payload'] == b'abc'\n")
    files = {"pkt/__init__.py": "", "pkt/check.py": check, "pkt/parse.py": parse,
             "pkt/offsets.py": "VERSION = 0\nLENGTH = 1  # two bytes, big-endian\nCHECKSUM = 3\nPAYLOAD = 5\n",
             "tests/test_parse.py": test.format(head="bytes([1])")}
    good = repo.commit("pkt: frames", files)
    files |= {"pkt/offsets.py": "VERSION = 0\nKIND = 1\nLENGTH = 2  # two bytes, big-endian\nCHECKSUM = 5\n"
                                "PAYLOAD = 7\n",
              "tests/test_parse.py": test.format(head="bytes([1, 2])")}
    regression = repo.commit("frames: a kind byte after the version", files)
    files |= {"pkt/kinds.py": "from pkt import offsets\n\nKINDS = {1: 'ping', 2: 'data'}\n\n\n"
                              "def kind(frame):\n    return KINDS[frame[offsets.KIND]]\n",
              "tests/test_kinds.py": "from pkt.kinds import kind\n\n\ndef test_kind():\n"
                                     "    assert kind(bytes([1, 2, 0, 0])) == 'data'\n"}
    repo.commit("kinds: name a frame's kind", files)
    result = _repair_from(repo, "from pkt.parse import parse; parse(bytes([1, 2, 0, 3, 1, 38]) + b'abc')",
                          regression, good)
    assert result.candidate is not None, result.attempts
    assert result.candidate.unit == "template:literal_shift", result.candidate.description
    fixed = (repo.path / "pkt/offsets.py").read_text()
    assert fixed == "VERSION = 0\nKIND = 1\nLENGTH = 2  # two bytes, big-endian\nCHECKSUM = 4\nPAYLOAD = 6\n"


def test_a_wrong_name_the_suspect_wrote_is_replaced_by_one_of_the_functions_own(tmp_path: Path) -> None:
    """The commit moves a schedule from a flat list to hours per day and indexes the day's hours with the
    day: the line is new (nothing to revert to), no operator or number is wrong; one of the function's
    own names is."""
    repo = _Repo(tmp_path / "repo", 13)
    test = "from cal.slots import slot\n\n\ndef test_slot():\n    assert slot({args}) == 'b'\n"
    files = {"cal/__init__.py": "", "cal/slots.py": "def slot(schedule, hour):\n    return schedule[hour]\n",
             "tests/test_slots.py": test.format(args="['a', 'b'], 1")}
    good = repo.commit("cal: slots", files)
    files |= {"cal/slots.py": "def slot(schedule, day, hour):\n    hours = schedule.get(day, [])\n"
                              "    if not hours:\n        return None\n    picked = hours[day]\n    return picked\n",
              "tests/test_slots.py": test.format(args="{'mon': ['a', 'b']}, 'mon', 1")}
    regression = repo.commit("slots: hours per day", files)
    result = _repair_from(repo, "from cal.slots import slot; slot({'tue': [1]}, 'tue', 0)", regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:name", result.attempts
    assert "    picked = hours[hour]\n" in (repo.path / "cal/slots.py").read_text()


def test_a_fix_that_keeps_what_the_suspect_added_is_preferred_to_one_that_deletes_it(tmp_path: Path) -> None:
    """Repeat mode counts one more play, written without parentheses: `n + 1 if repeat else 0` is 0 when
    repeat is off, and the average divides by it. Deleting `+ 1 if self.repeat else 0` passes the tests
    too (none counts a repeated play), but drops the feature; the line the crash line calls, regrouped,
    keeps it."""
    repo = _Repo(tmp_path / "repo", 14)
    play = ("class Playlist:\n    def __init__(self, tracks):\n        self.tracks = list(tracks)\n\n"
            "    def plays(self):\n        return len(self.tracks)\n\n"
            "    def average_seconds(self, total):\n        return total / self.plays()\n")
    test = ("from music.playlist import Playlist\n\n\ndef test_average():\n"
            "    assert Playlist(['a', 'b']).average_seconds(300) == 150\n")
    files = {"music/__init__.py": "", "music/playlist.py": play, "tests/test_playlist.py": test}
    good = repo.commit("music: playlists", files)
    files |= {"music/playlist.py": play.replace(
        "    def __init__(self, tracks):\n        self.tracks = list(tracks)\n",
        "    def __init__(self, tracks, repeat=False):\n        self.tracks = list(tracks)\n"
        "        self.repeat = repeat\n\n"
        "    def order(self):\n        return self.tracks + self.tracks[:1] if self.repeat else self.tracks\n").replace(
        "        return len(self.tracks)\n", "        return len(self.tracks) + 1 if self.repeat else 0\n"),
        "tests/test_repeat.py": "from music.playlist import Playlist\n\n\ndef test_order():\n"
                                "    assert Playlist(['a', 'b'], repeat=True).order() == ['a', 'b', 'a']\n"}
    regression = repo.commit("playlist: repeat mode", files)
    repo.commit("readme", {**files, "README.md": "# music\n"})
    result = _repair_from(repo, "from music.playlist import Playlist; Playlist(['x']).average_seconds(60)",
                          regression, good)
    assert result.candidate is not None and result.candidate.unit == "template:regroup", result.attempts
    assert any("passes, but deletes what the suspect added" in a for a in result.attempts)
    assert "        return len(self.tracks) + (1 if self.repeat else 0)\n" in (
        repo.path / "music/playlist.py").read_text()
