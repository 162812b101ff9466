"""Forensics pieces: traceback parsing, function spans, surgical reverts, and review's diff audit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.forensics import History, Region, failing_path, function_spans, parse_traceback
from agents.pickaxe import terms_of
from agents.revert import partial_reverts
from agents.review import audit_diff
from agents.workspace import Workspace
from swarm.models import ErrorReport

CHAINED = """Traceback (most recent call last):
  File "/srv/app/db.py", line 3, in get
    return rows[key]
KeyError: 'a'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/main.py", line 10, in <module>
    run()
  File "/srv/app/api.py", line 22, in run
    handle(request)
ValueError: bad request
"""


def test_the_last_traceback_of_a_chain_is_the_one_that_counts() -> None:
    frames = parse_traceback(CHAINED)
    assert [(f.file, f.line, f.function) for f in frames] == [
        ("/srv/app/main.py", 10, "<module>"),
        ("/srv/app/api.py", 22, "run"),
    ]


def test_function_spans_have_qualified_names_and_include_decorators() -> None:
    source = "import x\n\n\nclass A:\n    @staticmethod\n    def f():\n        return 1\n\n\ndef g():\n    pass\n"
    assert [(s.qualname, s.start, s.end) for s in function_spans(source)] == [("A.f", 5, 7), ("g", 10, 11)]
    assert function_spans("def broken(:\n") == []


def _git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    return repo


def _commit(repo: Path, text: str, message: str) -> str:
    (repo / "m.py").write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=d", "-c", "user.email=d@x", "commit", "-qm", message], cwd=repo, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_revert_undoes_only_the_suspect_hunk_in_the_function(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    _commit(repo, "def f(x):\n    return x or 0\n", "one")
    # the regression: changes f's last line and, in the same hunk, adds a feature g right after it
    bad = _commit(repo, "def f(x):\n    return x\n\n\ndef g():\n    return 'feature'\n", "two")
    # a later commit edits the line right next to the regressed one (a 3-way merge would conflict)
    _commit(repo, "def f(x):\n    '''Stable.'''\n    return x\n\n\ndef g():\n    return 'feature'\n", "three")
    ws = Workspace.open({"path": str(repo)}, root=tmp_path / "ws", investigation_id="i", role="implement", mode="write")
    try:
        history = History(ws)
        ranked = history.rank([Region("m.py", "f", 1, 3, "crash", 1.0, 3)])
        assert ranked[0].commit == bad and "last changed the failing line m.py:3" in ranked[0].reasons[0]
        assert [(h.new_start, h.new_len, h.old_len) for h in ranked[0].hunks] == [(2, 1, 1)]  # g is not in it
        head = {"m.py": (ws.root / "m.py").read_text()}
        texts = [c.texts["m.py"] for c in partial_reverts(str(ws.root), bad, ranked[0].parent, ["m.py"], head)
                 if c.unit == "token"]
        assert texts[0] == "def f(x):\n    '''Stable.'''\n    return x or 0\n\n\ndef g():\n    return 'feature'\n"
    finally:
        ws.close()


def test_audit_diff_accepts_a_small_source_fix_and_names_what_is_wrong() -> None:
    clean = audit_diff(
        "M\tpkg/app.py\n",
        "1\t1\tpkg/app.py\n",
        "--- a/pkg/app.py\n+++ b/pkg/app.py\n@@ -2 +2 @@\n-    return a\n+    return a or 0\n",
    )
    assert clean == []
    assert audit_diff("", "", "") == ["the fix branch has no changes against the base branch"]
    big = audit_diff("M\tpkg/app.py\n", "300\t10\tpkg/app.py\n", "")
    assert big == ["the diff is too large: 310 changed lines (limit 200)"]
    patch = (
        "--- a/tests/test_app.py\n+++ b/tests/test_app.py\n@@ -5,3 +5,3 @@\n"
        "-    def test_edge(self):\n-        self.assertEqual(f(None), 0)\n"
        "+    @unittest.skip('flaky')\n+    def test_other(self):\n"
    )
    reasons = audit_diff("M\ttests/test_app.py\n", "2\t2\ttests/test_app.py\n", patch)
    assert reasons == [
        "deletes test test_edge in tests/test_app.py",
        "removes or weakens assertions in tests/test_app.py: 'self.assertEqual(f(None), 0)'",
        "skips tests in tests/test_app.py: \"@unittest.skip('flaky')\"",
    ]
    assert audit_diff("D\ttests/test_app.py\nM\t.github/workflows/ci.yml\n", "", "") == [
        "deletes test file tests/test_app.py",
        "edits CI/workflow configuration .github/workflows/ci.yml",
    ]


def test_a_removed_handler_is_read_whole_from_the_parent_even_when_the_diff_keeps_its_body(tmp_path: Path) -> None:
    """The new code keeps `return default` (under a new `if`), so `git diff` does not show it removed; the
    handler restored around the crash must still be `except ValueError: return default`, nested lines kept."""
    from agents.suspectdiff import removed_handlers

    repo = _git_repo(tmp_path)
    old = (
        "def to_int(value, default=0):\n    try:\n        return int(value.strip())\n    except ValueError:\n"
        "        return default\n\n\ndef load(p):\n    try:\n        return open(p).read()\n"
        "    except (OSError, UnicodeError) as exc:\n        if default_on_error:\n            return ''\n"
        "        raise RuntimeError(p) from exc\n"
    )
    new = (
        "def to_int(value, default=0):\n    cleaned = value.strip().replace(',', '')\n    if not cleaned:\n"
        "        return default\n    return int(cleaned)\n\n\ndef load(p):\n    return open(p).read()\n"
    )
    parent = _commit(repo, old, "first")
    commit = _commit(repo, new, "drop the handlers")
    assert removed_handlers(repo, commit, parent) == [
        ("ValueError", ["return default"]),
        ("OSError, UnicodeError", ["if default_on_error:", "    return ''", "raise RuntimeError(p) from exc"]),
    ]


def test_a_restored_tuple_handler_is_valid_python_around_the_crash_statement() -> None:
    import ast

    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = "def load(p):\n    data = open(p).read()\n    return data\n"
    handlers = [("OSError, UnicodeError", ["if strict:", "    raise", "return ''"])]
    shape = ErrorShape("OSError", "[Errno 2] No such file or directory", "m.py", "load")
    cands = template_candidates(shape, "OSError: no such file", [Site("m.py", 2, "load", 0)], {"m.py": text},
                                handlers=handlers)
    restored = [c.texts["m.py"] for c in cands if "except (OSError, UnicodeError):" in c.texts["m.py"]]
    assert restored == [
        "def load(p):\n    try:\n        data = open(p).read()\n    except (OSError, UnicodeError):\n"
        "        if strict:\n            raise\n        return ''\n    return data\n"
    ]
    for c in cands:
        ast.parse(c.texts["m.py"])  # every candidate is valid Python


def test_a_hunk_that_adds_a_check_and_breaks_the_lines_under_it_is_undone_keeping_the_check(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path)
    old = "def merge(overrides, base=DEFAULTS):\n    opts = dict(base)\n    opts.update(overrides)\n    return opts\n"
    new = (
        "def merge(overrides, base=DEFAULTS):\n    unknown = set(overrides) - set(base)\n    if unknown:\n"
        "        raise TypeError(unknown)\n    base.update(overrides)\n    return base\n"
    )
    parent = _commit(repo, old, "first")
    commit = _commit(repo, new, "check keys; mutate base")
    cands = partial_reverts(str(repo), commit, parent, ["m.py"], {"m.py": new})
    kept = [c for c in cands if "keeping" in c.description]
    assert [c.texts["m.py"] for c in kept] == [
        "def merge(overrides, base=DEFAULTS):\n    unknown = set(overrides) - set(base)\n    if unknown:\n"
        "        raise TypeError(unknown)\n    opts = dict(base)\n    opts.update(overrides)\n    return opts\n"
    ]
    assert kept[0].unit == "statement"


def test_keys_a_refactor_renamed_are_read_even_inside_f_strings_and_fix_a_stale_consumer(tmp_path: Path) -> None:
    from agents.repro import ErrorShape
    from agents.suspectdiff import key_renames_in
    from agents.templates import Site, template_candidates

    repo = _git_repo(tmp_path)
    old = 'def tiles(s):\n    return [("Orders", str(s["count"])), ("Revenue", f"{s[\'revenue\'] / 100:.2f}")]\n'
    new = (
        'def tiles(s):\n    return [\n        ("Orders", str(s["orders"])),\n'
        '        ("Revenue", f"{s[\'revenue_cents\'] / 100:.2f}"),\n    ]\n'
    )
    parent = _commit(repo, old, "first")
    commit = _commit(repo, new, "explicit key names")
    keys = key_renames_in(repo, commit, parent)
    assert keys == {"count": ["orders"], "revenue": ["revenue_cents"]}

    consumer = "def csv_line(day, s):\n    return f\"{day},{s['count']},{s['revenue']}\"\n"
    shape = ErrorShape("KeyError", "'count'", "export.py", "csv_line")
    cands = template_candidates(shape, "KeyError: 'count'", [Site("export.py", 2, "csv_line", 0)],
                                {"export.py": consumer}, keys=keys)
    stale = [c.texts["export.py"] for c in cands if c.unit == "template:stale_key"]
    assert stale == [
        "def csv_line(day, s):\n    return f\"{day},{s['orders']},{s['revenue']}\"\n",  # the key on the crash line
        # the new key where the data has it, the old one where it does not (data written before the rename)
        "def csv_line(day, s):\n"
        "    return f\"{day},{(s['orders'] if 'orders' in s else s['count'])},{s['revenue']}\"\n",
        "def csv_line(day, s):\n    return f\"{day},{s['orders']},{s['revenue_cents']}\"\n",  # every renamed key
    ]
    other = ErrorShape("KeyError", "'total'", "export.py", "csv_line")  # a key the suspect did not rename
    assert not [c for c in template_candidates(other, "KeyError: 'total'", [Site("export.py", 2, "csv_line", 0)],
                                               {"export.py": consumer}, keys=keys) if c.unit == "template:stale_key"]


def test_a_caller_indexing_a_tuple_that_became_a_dict_reads_the_keys_the_positions_became(tmp_path: Path) -> None:
    from agents.repro import ErrorShape
    from agents.suspectdiff import index_keys_in
    from agents.templates import Site, template_candidates

    repo = _git_repo(tmp_path)
    old = "def split_name(full):\n    parts = full.split()\n    return parts[0], parts[-1]\n"
    new = (
        'def split_name(full):\n    parts = full.split()\n'
        '    return {"first": parts[0], "middle": parts[1:-1], "last": parts[ -1]}\n'  # values matched by text
    )
    parent = _commit(repo, old, "first")
    commit = _commit(repo, new, "named parts")
    positions = index_keys_in(repo, commit, parent)
    assert positions == {0: "first", 1: "last"}

    caller = 'def badge(p):\n    parts = split_name(p["name"])\n    return f"{parts[1].upper()}, {parts[0]} ({p[2]})"\n'
    shape = ErrorShape("KeyError", "1", "badges.py", "badge")
    cands = template_candidates(shape, "KeyError: 1", [Site("badges.py", 3, "badge", 0)], {"badges.py": caller},
                                positions=positions)
    assert [c.texts["badges.py"] for c in cands if c.unit == "template:tuple_to_dict"] == [
        'def badge(p):\n    parts = split_name(p["name"])\n'
        "    return f\"{parts['last'].upper()}, {parts['first']} ({p[2]})\"\n"  # position 2 was never a key
    ]


def test_a_read_of_a_renamed_key_falls_back_to_the_old_one_for_data_written_before_the_rename() -> None:
    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    caller = 'def next_run(job, last):\n    every = parse(job.get("interval"))\n    return last + every\n'
    shape = ErrorShape("AttributeError", "'NoneType' object has no attribute 'strip'", "jobs.py", "next_run")
    cands = template_candidates(shape, "AttributeError: 'NoneType' object has no attribute 'strip'",
                                [Site("jobs.py", 2, "next_run", 1)], {"jobs.py": caller}, keys={"every": ["interval"]})
    assert [c.texts["jobs.py"] for c in cands if c.unit == "template:key_fallback"] == [
        'def next_run(job, last):\n    every = parse((job.get("interval") or job.get("every")))\n'
        "    return last + every\n"
    ]
    indexed = caller.replace('job.get("interval")', "job['interval']")
    shape = ErrorShape("KeyError", "'interval'", "jobs.py", "next_run")
    cands = template_candidates(shape, "KeyError: 'interval'", [Site("jobs.py", 2, "next_run", 0)],
                                {"jobs.py": indexed}, keys={"every": ["interval"]})
    assert [c.texts["jobs.py"] for c in cands if c.unit == "template:key_fallback"] == [
        "def next_run(job, last):\n    every = parse(job.get('interval', job.get('every')))\n    return last + every\n"
    ]


def test_a_key_renamed_in_a_line_among_new_lines_that_reuse_its_old_name_is_still_read(tmp_path: Path) -> None:
    """`every` is the old key and, after the change, also a variable of the added lines: a whole-hunk token
    diff aligns the wrong `every`; the line with its most similar added line gives the rename."""
    from agents.suspectdiff import key_renames_in

    repo = _git_repo(tmp_path)
    old = 'def next_run(job, last):\n    every = parse(job["every"])\n    return last + every\n'
    new = (
        'def next_run(job, last, rng=None):\n    every = parse(job.get("interval"))\n'
        '    jitter = job.get("jitter_s", 0)\n    if jitter:\n        every += rng.randint(0, jitter)\n'
        "    return last + every\n"
    )
    parent = _commit(repo, old, "first")
    commit = _commit(repo, new, "jitter; interval is the documented key")
    assert key_renames_in(repo, commit, parent) == {"every": ["interval"]}


def test_an_argument_that_became_none_gets_a_default_inside_the_call_even_among_string_literals() -> None:
    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = ('def size(spec):\n    m = PATTERN.match(spec)\n'
            '    return int(m.group("w"), 10) * int(m.group("h", "x,y"))\n')
    message = "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'"
    shape = ErrorShape("TypeError", message, "geo.py", "size")
    cands = template_candidates(shape, f"TypeError: {message}", [Site("geo.py", 3, "size", 0)], {"geo.py": text})
    lines = [c.texts["geo.py"].splitlines()[2].strip() for c in cands]
    # each int() argument, one at a time; the string literals' commas and parentheses do not split them
    assert 'return int(m.group("w") or 0, 10) * int(m.group("h", "x,y"))' in lines
    assert 'return int(m.group("w"), 10) * int(m.group("h", "x,y") or 0)' in lines
    assert not any('"x or 0' in line or "10 or 0" in line for line in lines)  # not the base, not inside strings


def test_mutable_state_a_class_shares_and_its_methods_mutate_becomes_per_instance() -> None:
    import ast

    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = ('class Cart:\n    """A cart."""\n\n    TAX = 0.2\n    items = []\n    totals: dict = {}\n    tags = ()\n\n'
            '    def __init__(self, owner):\n        """One cart per owner."""\n        self.owner = owner\n\n'
            '    def add(self, sku, n):\n        if sku in self.items:\n            raise ValueError(sku)\n'
            '        self.items.append(sku)\n        self.totals[sku] = n\n        return self.tags\n')
    shape = ErrorShape("ValueError", "'tea'", "cart.py", "add")
    cands = [c for c in template_candidates(shape, "ValueError: 'tea'", [Site("cart.py", 15, "add", 0)],
                                            {"cart.py": text}) if c.unit == "template:instance_state"]
    assert cands and "items, totals: per instance" in cands[0].description
    fixed = cands[0].texts["cart.py"]
    ast.parse(fixed)
    # moved after __init__'s docstring; the constant and the immutable tuple stay on the class
    assert '"""One cart per owner."""\n        self.items = []\n        self.totals = {}\n' in fixed
    assert "    TAX = 0.2\n" in fixed and "    tags = ()\n" in fixed and "    items = []\n" not in fixed
    ns: dict = {}
    exec(fixed, ns)
    a, b = ns["Cart"]("a"), ns["Cart"]("b")
    a.add("tea", 1)
    b.add("tea", 2)  # the shared list raised here before
    assert (a.items, b.items, a.totals, b.totals) == (["tea"], ["tea"], {"tea": 1}, {"tea": 2})


def test_a_literal_default_the_suspect_made_computed_falls_back_to_the_old_literal(tmp_path: Path) -> None:
    import ast

    from agents.olddefault import old_default_candidates, replaced_defaults

    repo = _git_repo(tmp_path)
    before = ("from dataclasses import dataclass\n\n\n@dataclass\nclass Limits:\n    retries: int = 3\n"
              "    name: str = 'x'\n\n\nTIMEOUT = 30\nMODE = 'fast'\n")
    parent = _commit(repo, before, "limits")
    after = ("import os\nfrom dataclasses import dataclass, field\n\n\n@dataclass\nclass Limits:\n"
             "    retries: int = field(default_factory=lambda: _env('RETRIES'))\n    name: str = 'y'\n\n\n"
             "TIMEOUT = os.environ.get('TIMEOUT')\nMODE = 'fast'\n")
    sha = _commit(repo, after, "limits from the environment")
    found = replaced_defaults(repo, sha, parent)
    # literal -> literal ('x' -> 'y') and unchanged names are not "replaced defaults"
    assert sorted(found) == [("m.py", "TIMEOUT", "30"), ("m.py", "retries", "3")]
    fixed = {c.description.split(":")[0]: c.texts["m.py"] for c in old_default_candidates({"m.py": after}, found)}
    assert "field(default_factory=lambda: _env('RETRIES') or 3)" in fixed["retries"]
    assert "TIMEOUT = (os.environ.get('TIMEOUT')) or 30\n" in fixed["TIMEOUT"]
    for text in fixed.values():
        ast.parse(text)


def test_digits_that_arrive_as_text_are_read_as_int_one_read_at_a_time_then_all_together() -> None:
    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = ('def handle(order, body):\n    data = json.loads(body)\n'
            '    return book(order, data["seat"], data.get("n", 1))\n')
    shape = ErrorShape("KeyError", "'12'", "seats.py", "take")
    cands = template_candidates(shape, "KeyError: '12'", [Site("api.py", 3, "handle", 1)], {"api.py": text})
    lines = [c.texts["api.py"].splitlines()[2].strip() for c in cands if c.unit == "template:int()"]
    assert lines == ['return book(order, int(data["seat"]), data.get("n", 1))',
                     'return book(order, data["seat"], int(data.get("n", 1)))',
                     'return book(order, int(data["seat"]), int(data.get("n", 1)))']
    # a KeyError on a word is not about numbers
    other = template_candidates(ErrorShape("KeyError", "'seat'", "seats.py", "take"), "KeyError: 'seat'",
                                [Site("api.py", 3, "handle", 1)], {"api.py": text})
    assert not [c for c in other if c.unit == "template:int()"]


def test_a_value_that_now_holds_the_separator_is_split_at_its_first_one_only() -> None:
    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = "def parse(line):\n    return dict(part.split('=') for part in line.split(';'))\n"
    message = "ValueError: dictionary update sequence element #1 has length 3; 2 is required"
    shape = ErrorShape("ValueError", message, "log.py", "parse")
    cands = template_candidates(shape, message, [Site("log.py", 2, "parse", 0)], {"log.py": text})
    lines = [c.texts["log.py"].splitlines()[1].strip() for c in cands if c.unit == "template:split('=')"]
    assert lines == ["return dict(part.split('=', 1) for part in line.split(';'))"]
    unpack = "def kv(s):\n    key, value = s.rsplit(':')\n    return key\n"
    cands = template_candidates(shape, "ValueError: too many values to unpack (expected 2)",
                                [Site("kv.py", 2, "kv", 0)], {"kv.py": unpack})
    assert "    key, value = s.rsplit(':', 1)\n" in [c.texts["kv.py"].splitlines(keepends=True)[1] for c in cands]


def test_the_suspects_numbers_shift_alone_by_line_and_from_each_one_on_leaving_strings_comments_and_others() -> None:
    from agents.literals import shifted_literal_candidates

    text = ("PORT = 8080\nRED = slice(0, 8)  # 8 bits\nGREEN = slice(9, 17)\nBLUE = slice(17, 24)\n"
            "NAME = 'col 9'\nALPHA = 0\n")
    cands = shifted_literal_candidates({"m.py": text}, {"m.py": {2, 3, 4, 5, 6}})
    found = {c.texts["m.py"] for c in cands}
    # from GREEN's start to the run's end, +1 (strings and comments untouched; PORT is not the suspect's)
    assert ("PORT = 8080\nRED = slice(0, 8)  # 8 bits\nGREEN = slice(10, 18)\nBLUE = slice(18, 25)\n"
            "NAME = 'col 9'\nALPHA = 1\n") in found
    assert text.replace("GREEN = slice(9, 17)", "GREEN = slice(8, 17)") in found  # one number alone
    assert text.replace("BLUE = slice(17, 24)", "BLUE = slice(16, 23)") in found  # a line's numbers together
    assert not any("ALPHA = -1" in t or "slice(-1" in t for t in found)  # never below zero
    assert all(t.startswith("PORT = 8080\n") and "'col 9'" in t and "# 8 bits" in t for t in found)
    assert len({c.description for c in cands}) == len(cands)


def test_simple_stupid_bugs_are_one_token_edits_of_the_line() -> None:
    from agents.sstubs import identifier_swaps, local_names, sstub_variants

    def variants(line: str) -> dict[str, str]:
        return {what: new for new, what in sstub_variants(line)}

    assert variants("    if not total > limit:  # over")["drop not"] == "    if total > limit:  # over"
    assert variants("    while queue:")["negate the condition"] == "    while not queue:"
    assert variants("    if a > b:")["negate the condition"] == "    if not (a > b):"
    assert variants("    return start.lstrip('0') or max(a, b)")["max() -> min()"] == \
        "    return start.lstrip('0') or min(a, b)"
    assert variants("    return start.lstrip('0')")["lstrip() -> rstrip()"] == "    return start.rstrip('0')"
    assert variants("    strict = True")["True -> False"] == "    strict = False"
    assert "drop not" not in variants("    x = 'not here'  # not this")  # strings and comments are not code
    # floor division only for a crash about a fraction where a whole number was wanted (review 25, invsplit)
    line = "    shares = [to_cents(total * w / whole) for w in weights]"
    floor = "    shares = [to_cents(total * w // whole) for w in weights]"
    assert ("/ -> //", floor) in [(w, n) for n, w in sstub_variants(line, "ValueError: Unknown format code 'd' for "
                                                                       "object of type 'float'")]
    assert "/ -> //" not in {w for _, w in sstub_variants(line, "UnbalancedSplit: shares sum to 100.02")}
    # a switch passed the wrong way round, also on a line the call continues past (review 25, bankcsv)
    line = '    return parse_rows(text, skip_header=profile["headerless"], delimiter=profile["sep"],'
    assert variants(line)['skip_header=profile["headerless"] -> skip_header=not profile["headerless"]'] == \
        '    return parse_rows(text, skip_header=not profile["headerless"], delimiter=profile["sep"],'
    assert not any("=not" in w for w in variants("    f(n=3, flag=True, name='a=b')"))  # literals: the swaps' own
    text = ("def slot(schedule, day, hour):\n    hours = schedule.get(day, [])\n    picked = hours[day]\n"
            "    return picked\n")
    names = local_names(text, 3)
    assert names == {"schedule", "day", "hour", "hours", "picked"}
    swaps = {what: new for new, what in identifier_swaps("    picked = hours[day]", [(19, 22, "day")], names)}
    assert swaps["day -> hour"] == "    picked = hours[hour]" and len(swaps) == 4
    assert local_names("X = 1\n", 1) == set()  # outside a function: no siblings known



def test_text_and_bytes_are_converted_the_way_the_message_asks_at_each_value_of_the_line() -> None:
    from agents.repro import ErrorShape
    from agents.strbytes import conversions
    from agents.templates import Site, template_candidates

    assert conversions("TypeError: Strings must be encoded before hashing") == ("encode",)
    assert conversions('TypeError: can only concatenate str (not "bytes") to str') == ("decode",)
    assert conversions("AttributeError: 'str' object has no attribute 'decode'") == ("drop",)
    assert conversions("TypeError: must be real number, not str") == ()  # not a text/bytes mix
    text = ("import hashlib\nimport hmac\n\n\ndef sign(secret, body):\n"
            "    return hmac.new(secret, serialize(body), hashlib.sha256).hexdigest()\n")
    shape = ErrorShape("TypeError", "Strings must be encoded before hashing", "m.py", "sign")
    found = [c.texts["m.py"].splitlines()[5] for c in template_candidates(
        shape, "TypeError: Strings must be encoded before hashing", [Site("m.py", 6, "sign", 0)], {"m.py": text})]
    assert "    return hmac.new(secret, serialize(body).encode(), hashlib.sha256).hexdigest()" in found
    assert ("    return hmac.new((secret.encode() if isinstance(secret, str) else secret), serialize(body), "
            "hashlib.sha256).hexdigest()") in found
    assert not any("hmac.encode()" in line or "hashlib.encode()" in line for line in found)  # modules are not values
    decoded = "    return raw.decode('utf-8').strip()"
    message = "AttributeError: 'str' object has no attribute 'decode'"
    dropped = template_candidates(ErrorShape("AttributeError", message.split(": ", 1)[1], "m.py", "f"), message,
                                  [Site("m.py", 2, "f", 0)], {"m.py": f"def f(raw):\n{decoded}\n"})
    assert "def f(raw):\n    return raw.strip()\n" in [c.texts["m.py"] for c in dropped]


def test_operators_on_the_line_are_grouped_the_other_way_as_precedence_needs() -> None:
    from agents.regroup import regroupings

    text = ("def f(handle, fallback, a, b, c, x, y, z):\n    tag = '@' + handle or fallback  # as typed\n"
            "    total = a + b if c else d\n    ok = x or y and z\n    sq = -x ** 2\n    name = f'{a}'\n")
    assert [n for n, _ in regroupings(text, 2)] == ["    tag = '@' + (handle or fallback)  # as typed"]
    assert [n for n, _ in regroupings(text, 3)] == ["    total = a + (b if c else d)"]
    assert [n for n, _ in regroupings(text, 4)] == ["    ok = (x or y) and z"]
    assert [n for n, _ in regroupings(text, 5)] == ["    sq = (-x) ** 2"]
    # inside a tighter operator the regrouped expression keeps its own parentheses
    inner = "def g(m, a, b, c, d):\n    return m * (a + b if c else d)\n"
    assert "    return m * (a + (b if c else d))" in [n for n, _ in regroupings(inner, 2)]
    assert list(regroupings(text, 6)) == [] and list(regroupings("def (:\n", 1)) == []  # nothing to regroup
    for n, _ in regroupings(text, 2):
        compile(n.strip(), "<line>", "exec")


def test_a_line_rewritten_at_length_still_pairs_with_its_old_self_so_one_dropped_call_can_come_back(
        tmp_path: Path) -> None:
    """The commit grows `json.dumps(record)` by four keyword arguments and drops its `.encode()` in the same
    line: too changed to pair by characters, the same line by its opening tokens; undoing only the dropped
    `.encode()` keeps the canonical form the commit was for."""
    repo = _git_repo(tmp_path)
    parent = _commit(repo, "import json\n\n\ndef line(record):\n    return json.dumps(record).encode()\n", "audit")
    after = ("import json\n\n\ndef line(record):\n    # one canonical line per event\n"
             "    return json.dumps(record, default=str, sort_keys=True, indent=None, separators=(',', ':'))\n")
    sha = _commit(repo, after, "audit: canonical lines")
    texts = {c.texts["m.py"] for c in partial_reverts(str(repo), sha, parent, ["m.py"], {"m.py": after})
             if c.unit == "token"}
    assert ("import json\n\n\ndef line(record):\n    # one canonical line per event\n    return json.dumps(record, "
            "default=str, sort_keys=True, indent=None, separators=(',', ':')).encode()\n") in texts


def test_a_mutable_default_argument_becomes_none_and_a_fresh_value_per_call() -> None:
    from agents.sharedstate import mutable_default_fixes

    text = ("class Basket:\n    def __init__(self, owner, items=[], *, tags={}):\n        '''A basket.'''\n"
            "        self.owner, self.items, self.tags = owner, items, tags\n\n"
            "    def add(self, item):\n        self.items.append(item)\n")
    [(fixed, what)] = mutable_default_fixes(text, 7)
    assert what == "items, tags: default None, a fresh value per call in __init__()"
    assert fixed.splitlines()[1:4] == ["    def __init__(self, owner, items=None, *, tags=None):",
                                        "        '''A basket.'''", "        items = [] if items is None else items"]
    ns: dict = {}
    exec(fixed, ns)
    a, b = ns["Basket"]("a"), ns["Basket"]("b")
    a.add("tea")
    assert (a.items, b.items) == (["tea"], [])  # the shared default leaked "tea" into b before
    assert mutable_default_fixes("def f(x, y=()):\n    return x\n", 2) == []  # immutable defaults stay
    annotated = "def f(q: str, filters: dict[str, str] = {}, tags: Optional[list] = []):\n    return filters\n"
    [(fixed, _)] = mutable_default_fixes(annotated, 2)  # the annotation admits the new default
    assert fixed.splitlines()[0] == ("def f(q: str, filters: dict[str, str] | None = None, "
                                     "tags: Optional[list] = None):")


def test_failing_pytest_ids_keep_their_parameters_with_spaces_and_separators() -> None:
    from agents.findrepro import _failing_tests

    out = ("FAILED tests/test_cli.py::test_convert[98.6 degF in degC-98.6 degF = 37 degC] - TypeError: bad\n"
           "FAILED tests/test_cli.py::test_convert[1,000 ft in m-1000 ft = 304.8 m]\n"
           "FAILED tests/t.py::T::test_e[a - b] - ValueError: y\nERROR tests/test_d.py\n")
    assert _failing_tests(out, "pytest") == [
        ("tests/test_cli.py::test_convert[98.6 degF in degC-98.6 degF = 37 degC]", "TypeError: bad"),
        ("tests/test_cli.py::test_convert[1,000 ft in m-1000 ft = 304.8 m]", ""),
        ("tests/t.py::T::test_e[a - b]", "ValueError: y"), ("tests/test_d.py", "")]


def test_a_guard_returns_the_empty_value_of_the_kind_the_function_returns_first() -> None:
    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = ("def permissions(store, name) -> set[str]:\n    if not name:\n        return set()\n"
            "    role = store.get(name)\n    return set(role.permissions)\n")
    message = "AttributeError: 'NoneType' object has no attribute 'permissions'"
    cands = template_candidates(ErrorShape("AttributeError", message.split(": ", 1)[1], "m.py", "permissions"),
                                message, [Site("m.py", 5, "permissions", 0)], {"m.py": text})
    guards = [c.description for c in cands if c.description.startswith("guard: if role is None")]
    assert guards[0] == "guard: if role is None: return set() at m.py:5"  # not None, 0 or "" first
    from agents.repair import _order

    ordered = [c.description for c in _order(cands, {"m.py": text}, [Site("m.py", 5, "permissions", 0)])
               if c.description.startswith("guard: if role is None")]
    assert ordered[0] == guards[0]  # the search tries it first too


def test_review_allows_a_file_off_the_path_only_when_the_error_names_it_or_the_path_imports_it(
        tmp_path: Path) -> None:
    from agents.review import connected

    (tmp_path / "notify").mkdir()
    (tmp_path / "notify/base.py").write_text("class Notifier:\n    def send(self, e):\n"
                                             "        return self.render(e, 'de')\n")
    (tmp_path / "notify/sms.py").write_text("from .base import Notifier\n\n\nclass SmsNotifier(Notifier):\n"
                                            "    def render(self, e):\n        return e\n")
    (tmp_path / "notify/fmt.py").write_text("def tidy(x):\n    return x\n")
    (tmp_path / "notify/other.py").write_text("def unrelated():\n    return 1\n")
    error = "TypeError: SmsNotifier.render() takes 2 positional arguments but 3 were given"
    path = {"notify/base.py"}
    assert connected(tmp_path, "notify/sms.py", path, error)  # defines the class the error names
    assert not connected(tmp_path, "notify/fmt.py", path, error)
    assert not connected(tmp_path, "notify/other.py", path, error)
    (tmp_path / "notify/base.py").write_text("from .fmt import tidy\n" + (tmp_path / "notify/base.py").read_text())
    assert connected(tmp_path, "notify/fmt.py", path, error)  # the failing path imports it
    assert not connected(tmp_path, "notify/other.py", path, error)


def test_a_loop_that_deletes_what_it_walks_walks_a_copy(tmp_path: Path) -> None:
    import sys

    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = ("def evict(cache, now):\n    for key, entry in cache.items():\n        if entry < now:\n"
            "            del cache[key]\n    return len(cache)\n")
    call = "from lru import evict; print(evict({'a': 1, 'b': 5, 'c': 2}, 3))"
    (tmp_path / "lru.py").write_text(text)
    crash = subprocess.run([sys.executable, "-c", call], cwd=tmp_path, capture_output=True, text=True)
    assert "RuntimeError: dictionary changed size during iteration" in crash.stderr
    shape = ErrorShape("RuntimeError", "dictionary changed size during iteration", "lru.py", "evict")
    cands = template_candidates(shape, "RuntimeError: dictionary changed size during iteration",
                                [Site("lru.py", 2, "evict", 0)], {"lru.py": text})
    (copy,) = [c for c in cands if "list(cache.items())" in c.texts["lru.py"]]
    (tmp_path / "lru.py").write_text(copy.texts["lru.py"])
    fixed = subprocess.run([sys.executable, "-c", call], cwd=tmp_path, capture_output=True, text=True)
    assert fixed.stdout.strip() == "1", fixed.stderr
    other = ErrorShape("RuntimeError", "maximum recursion depth exceeded", "lru.py", "evict")
    assert not [c for c in template_candidates(other, "RuntimeError: maximum recursion depth exceeded",
                                               [Site("lru.py", 2, "evict", 0)], {"lru.py": text})
                if "list(cache" in c.texts["lru.py"]]


def test_a_name_bound_only_inside_a_loop_starts_the_function_as_none(tmp_path: Path) -> None:
    import sys

    from agents.repro import ErrorShape
    from agents.templates import Site, template_candidates

    text = ('def first_overdue(invoices, today):\n    """The first invoice past its due date."""\n'
            "    for invoice in invoices:\n        if invoice['due'] < today:\n            hit = invoice\n"
            "            break\n    return hit\n")
    call = "from dues import first_overdue; print(first_overdue([{'due': 9}], 5), first_overdue([{'due': 1}], 5))"
    (tmp_path / "dues.py").write_text(text)
    crash = subprocess.run([sys.executable, "-c", call], cwd=tmp_path, capture_output=True, text=True)
    message = crash.stderr.strip().splitlines()[-1]
    assert message.startswith("UnboundLocalError: cannot access local variable 'hit'")
    shape = ErrorShape("UnboundLocalError", message.split(": ", 1)[1], "dues.py", "first_overdue")
    cands = [c for c in template_candidates(shape, message, [Site("dues.py", 7, "first_overdue", 0)],
                                            {"dues.py": text}) if c.unit == "template:unbound"]
    assert [c.size for c in cands] == [1, 2, 3, 4]
    assert '"""The first invoice past its due date."""\n    hit = None\n    for invoice' in cands[0].texts["dues.py"]
    (tmp_path / "dues.py").write_text(cands[0].texts["dues.py"])
    fixed = subprocess.run([sys.executable, "-c", call], cwd=tmp_path, capture_output=True, text=True)
    assert fixed.stdout.strip() == "None {'due': 1}", fixed.stderr


def test_a_name_swap_that_applies_an_operation_to_one_name_twice_is_not_a_candidate() -> None:
    """`(started - started)` makes any elapsed time 0, so a probe's repro passes with it; no repair does that."""
    from agents.repro import ErrorShape
    from agents.sstubs import identifier_swaps
    from agents.templates import Site, template_candidates

    text = ("def elapsed_ms(started, finished=None):\n    finished = clock() if finished is None else finished\n"
            "    return record((finished - started) * 1000.0)\n")
    shape = ErrorShape("IndexError", "list index out of range", "lat.py", "elapsed_ms")
    cands = template_candidates(shape, "IndexError: list index out of range", [Site("lat.py", 3, "elapsed_ms", 0)],
                                {"lat.py": text})
    texts = [t for c in cands for t in c.texts.values()]
    assert texts and not [t for t in texts if "(started - started)" in t or "(finished - finished)" in t]
    raw = [v for v, _ in identifier_swaps(text.splitlines()[2], [(19, 27, "finished"), (30, 37, "started")],
                                          {"finished", "started"})]
    assert "    return record((started - started) * 1000.0)" in raw  # what the filter keeps out


def _commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=d", "-c", "user.email=d@x", "commit", "-qm", message], cwd=repo, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_commit_that_dropped_the_key_the_error_names_ranks_above_the_crash_lines_author(tmp_path: Path) -> None:
    """`row["currency"]` crashes with KeyError: 'currency'; the line is as its author wrote it, and blame
    names that commit. The commit that dropped "currency" from the reader's columns (another file, off the
    traceback) changed how often the name appears in the code: it ranks first. A later commit that only
    touches tests that say "currency" does not count; nor does a quoted type (`'Row' object`)."""
    repo = _git_repo(tmp_path)
    reader = "COLUMNS = ({cols})\n\n\ndef read(line):\n    return dict(zip(COLUMNS, line.split(',')))\n"
    convert = ("def to_base(rows, base='EUR'):\n    out = []\n    for row in rows:\n"
               "        currency = row['currency'] or base\n        out.append((currency, row['amount']))\n"
               "    return out\n")
    _commit_files(repo, {"pipe/reader.py": reader.format(cols="'date', 'amount', 'currency'"),
                         "pipe/convert.py": "def to_base(rows):\n    return rows\n"}, "pipe")
    author = _commit_files(repo, {"pipe/convert.py": convert}, "convert: to the base currency")
    dropped = _commit_files(repo, {"pipe/reader.py": reader.format(cols="'date', 'amount', 'memo'")},
                            "reader: the bank's memo column")
    _commit_files(repo, {"tests/test_convert.py": "def test_currency():\n    assert 'currency'\n"}, "tests")
    report = ErrorReport(error="KeyError: 'currency'", stack=(
        'Traceback (most recent call last):\n  File "/srv/app/pipe/convert.py", line 4, in to_base\n'
        "    currency = row['currency'] or base\nKeyError: 'currency'\n"))
    ws = Workspace.open({"path": str(repo)}, root=tmp_path / "ws", investigation_id="i", role="research", mode="read")
    try:
        regions = failing_path(ws, report)
        assert History(ws).rank(regions)[0].commit == author  # blame alone: the line's author
        ranked = History(ws).rank(regions, message=report.error)
        assert ranked[0].commit == dropped and "'currency'" in ranked[0].reasons[0], ranked[0]
        assert ranked[1].commit == author
    finally:
        ws.close()
    assert terms_of("AttributeError: 'Row' object has no attribute 'currency'") == ["currency"]
    assert terms_of("TypeError: '<' not supported between instances of 'float' and 'datetime.timedelta'") == [
        "timedelta"]


def test_tuple_positions_become_the_keys_of_a_dict_built_in_a_variable_and_returned(tmp_path: Path) -> None:
    """Review 17, geotrack: `return lat, lon` became `point = {"lat": lat, "lon": lon}` ... `return point`; the
    positions were found only for `return {...}` written out, so a caller still unpacking two names (which
    unpacks the dict's two keys, no error there) got no `result['lat'], result['lon']` candidate."""
    from agents.suspectdiff import index_keys_in

    repo = _git_repo(tmp_path)
    _commit_files(repo, {"geo.py": "def parse(text):\n    lat, lon = text.split(',')\n    return lat, lon\n"}, "geo")
    sha = _commit_files(repo, {"geo.py": "def parse(text):\n    lat, lon, *alt = text.split(',')\n"
                                         "    point = {'lat': lat, 'lon': lon}\n    if alt:\n"
                                         "        point['alt'] = alt[0]\n    return point\n"}, "geo: altitude")
    assert index_keys_in(repo, sha, sha + "^") == {0: "lat", 1: "lon"}
    other = _commit_files(repo, {"geo.py": "def parse(text):\n    lat, lon, *alt = text.split(',')\n"
                                           "    point = {'lat': lat, 'lon': lon}\n    return dict(point)\n"}, "copy")
    assert index_keys_in(repo, other, other + "^") == {}  # no tuple removed here: nothing to map
