"""Run the held-out fix cases through `swarm investigate` exactly as a user would, and score them.

    python -m tests.holdout.fixes.run [--only N|NAME] [--json] [--timeout S]

For each case: build the repository in a temp dir, run `swarm investigate --repo … --error-file …
--test-command … --json` as a subprocess, then score (a) right suspect: the Result names the regressing
commit; (b) passing fix: status `fixed`, and the fix branch, checked out fresh in its own worktree with
`tests/` restored from HEAD, passes the test command and still contains every `must_keep` snippet.
Beside it, two baselines on the same repos: `git blame` of the crash line, and blame + `git revert`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.holdout.fixes.cases import CASES
from tests.holdout.fixes.gitrepo import Case, Spec, git, run_tests, test_env

ROOT = Path(__file__).resolve().parents[3]


def swarm_executable() -> str:
    local = Path(sys.executable).parent / "swarm"
    if local.exists():
        return str(local)
    venv = ROOT / ".venv" / "bin" / "swarm"
    return str(venv) if venv.exists() else (shutil.which("swarm") or "swarm")


def blame_line(case: Case) -> str | None:
    ctx = case.report["context"]
    out = git(case.repo, "blame", "-l", "-s", "-L", f"{ctx['line']},+1", case.head, "--", ctx["file"], check=False)
    return out.split()[0].lstrip("^") if out else None


def suspects_in(data: object) -> list[str]:
    """Every commit-looking value under a key that mentions 'suspect' (tolerant of where it sits)."""
    found: list[str] = []

    def walk(node: object, under_suspect: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, under_suspect or "suspect" in str(key).lower())
        elif isinstance(node, list):
            for value in node:
                walk(value, under_suspect)
        elif under_suspect and isinstance(node, str):
            token = node.strip().split()[0] if node.strip() else ""
            if len(token) >= 7 and all(c in "0123456789abcdef" for c in token.lower()):
                found.append(token.lower())

    walk(data, False)
    return found


def names_commit(candidates: list[str], sha: str) -> bool:
    return any(sha.startswith(c) or c.startswith(sha) for c in candidates)


def check_tree(case: Case, ref: str, work: Path) -> tuple[bool, str]:
    """Check out `ref` fresh, restore tests/ as at HEAD, run the tests, look for every must_keep snippet."""
    tree = work / "tree"
    if tree.exists():
        git(case.repo, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(tree, ignore_errors=True)
    git(case.repo, "worktree", "add", "-q", "--detach", str(tree), ref)
    try:
        shutil.rmtree(tree / "tests", ignore_errors=True)
        git(tree, "checkout", case.head, "--", "tests")
        proc = run_tests(tree, case.test_command)
        if proc.returncode != 0:
            return False, "tests fail: " + (proc.stdout + proc.stderr).strip().splitlines()[-1][:160]
        for rel, snippet in case.must_keep:
            path = tree / rel
            if not path.exists() or snippet not in path.read_text():
                return False, f"lost {snippet!r} in {rel}"
        return True, ""
    finally:
        git(case.repo, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(tree, ignore_errors=True)


def baselines(case: Case, work: Path) -> dict[str, object]:
    blamed = blame_line(case)
    out: dict[str, object] = {"blame_sha": blamed, "blame_ok": bool(blamed) and blamed == case.suspect}
    out["blame_revert_ok"], out["blame_revert_note"] = False, ""
    if not blamed:
        return out
    branch = "baseline-revert"
    git(case.repo, "branch", "-f", branch, case.head)
    tree = work / "revert"
    git(case.repo, "worktree", "add", "-q", str(tree), branch)
    try:
        proc = subprocess.run(
            ["git", "-C", str(tree), "revert", "--no-edit", blamed], capture_output=True, text=True, check=False,
            env={**test_env(), "GIT_AUTHOR_NAME": "baseline", "GIT_AUTHOR_EMAIL": "b@example.org",
                 "GIT_COMMITTER_NAME": "baseline", "GIT_COMMITTER_EMAIL": "b@example.org"},
        )
        if proc.returncode != 0:
            out["blame_revert_note"] = "revert conflicts"
            git(tree, "revert", "--abort", check=False)
            return out
    finally:
        git(case.repo, "worktree", "remove", "--force", str(tree), check=False)
    ok, note = check_tree(case, branch, work)
    out["blame_revert_ok"], out["blame_revert_note"] = ok, note
    git(case.repo, "branch", "-D", branch, check=False)
    return out


def investigate(case: Case, work: Path, timeout: float) -> tuple[dict | None, str, float]:
    env = test_env()
    for key in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "NATS_URL", "NATS_NAMESPACE"):
        env.pop(key, None)
    env["SWARM_HOME"] = str(work / "swarm-home")
    cmd = [swarm_executable(), "investigate", "--repo", str(case.repo), "--error-file", str(case.report_path),
           "--test-command", case.test_command, "--json"]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout:.0f} s", time.monotonic() - start
    seconds = time.monotonic() - start
    text = proc.stdout.strip()
    try:
        return json.loads(text[text.index("{"):]), "", seconds
    except ValueError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return None, f"exit {proc.returncode}: {tail[0][:200]}", seconds


def fix_ref(case: Case, result: dict) -> str | None:
    for ref in (result.get("branch"), result.get("fix_commit")):
        if ref and git(case.repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False):
            return ref
    return None


def run_case(spec: Spec, index: int, timeout: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"holdout-{spec.name}-") as tmp:
        work = Path(tmp)
        case = spec.build(work / "case")
        row: dict[str, object] = {
            "n": index, "name": spec.name, "tier": spec.tier, "kind": spec.kind, "hard": spec.hard,
            "suspect": case.suspect[:12],
        }
        row.update(baselines(case, work))
        result, problem, seconds = investigate(case, work, timeout)
        row["seconds"] = round(seconds, 1)
        row["status"] = (result or {}).get("status", "error")
        row["swarm_suspect"] = (suspects_in(result or {}) or [None])[0]
        row["suspect_ok"] = names_commit(suspects_in(result or {}), case.suspect)
        row["fix_ok"], row["note"] = False, problem
        if result is not None and result.get("status") == "fixed":
            ref = fix_ref(case, result)
            if ref is None:
                row["note"] = f"fix branch {result.get('branch')!r} not found in the repository"
            else:
                row["fix_ok"], row["note"] = check_tree(case, ref, work)
        elif result is not None:
            row["note"] = str(result.get("summary") or result.get("error") or result.get("root_cause") or "")[:160]
        return row


def totals(rows: list[dict[str, object]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for tier in ("easy", "medium", "hard", "all"):
        sel = [r for r in rows if tier == "all" or r["tier"] == tier]
        out[tier] = {
            "cases": len(sel),
            **{k: sum(bool(r[k]) for r in sel) for k in ("suspect_ok", "fix_ok", "blame_ok", "blame_revert_ok")},
        }
    return out


def render(rows: list[dict[str, object]]) -> str:
    yes = {True: "yes", False: "-"}
    head = f"{'#':>2}  {'case':28} {'tier':6} {'status':8} {'suspect':7} {'fix':4} {'blame':5} {'b+rev':5} {'s':>6}"
    lines = [head + "  kind"]
    for r in rows:
        lines.append(
            f"{r['n']:>2}  {r['name']:28} {r['tier']:6} {r['status']:8} {yes[bool(r['suspect_ok'])]:7} "
            f"{yes[bool(r['fix_ok'])]:4} {yes[bool(r['blame_ok'])]:5} {yes[bool(r['blame_revert_ok'])]:5} "
            f"{r['seconds']:>6}  {r['kind']}"
        )
    lines.append("")
    for tier, t in totals(rows).items():
        lines.append(
            f"{tier:6}  right suspect {t['suspect_ok']}/{t['cases']}  passing fix {t['fix_ok']}/{t['cases']}  "
            f"blame {t['blame_ok']}/{t['cases']}  blame+revert {t['blame_revert_ok']}/{t['cases']}"
        )
    secs = sorted(float(r["seconds"]) for r in rows)  # type: ignore[arg-type]
    if secs:
        lines.append(f"median {secs[len(secs) // 2]:.1f} s per investigation, total {sum(secs):.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="case number (1-24) or name prefix; repeatable")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per investigation")
    args = parser.parse_args(argv)
    chosen = []
    for n, spec in enumerate(CASES, start=1):
        if not args.only or any(o == str(n) or spec.name.startswith(o) for o in args.only):
            chosen.append((n, spec))
    rows = []
    for n, spec in chosen:
        print(f"[{n}/{len(CASES)}] {spec.name} ...", file=sys.stderr, flush=True)
        row = run_case(spec, n, args.timeout)
        rows.append(row)
        print(
            f"[{n}/{len(CASES)}] {spec.name}: {row['status']} suspect={'ok' if row['suspect_ok'] else 'no'} "
            f"fix={'ok' if row['fix_ok'] else 'no'} ({row['seconds']} s) {row['note']}",
            file=sys.stderr,
            flush=True,
        )
    if args.json:
        print(json.dumps({"swarm_commit": _head(), "cases": rows, "totals": totals(rows)}, indent=2))
    else:
        print(render(rows))
    return 0


def _head() -> str:
    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


if __name__ == "__main__":
    os.environ.pop("ANTHROPIC_API_KEY", None)
    raise SystemExit(main())
