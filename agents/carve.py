"""Arguments carved from the repository's own tests, then varied: a repro for a crash no test reaches.

    records = carve(root, suite_args, [("pkg/jobs.py", "schedule")])     # what the tests passed, pickled
    code = varied_call(root, records, "TypeError", message, ("pkg/jobs.py", "<lambda>"))   # or None

The tests call the functions of the crash stack with values that make sense (a queue holding jobs, a
policy with its routes), values that made-up ones rarely reach. The suite runs once with a trace function
that pickles the arguments of the first few calls of each function of the stack (carving, after Elbaum et
al.'s carved unit tests). Each carved call is then replayed with one change at a time, the changes
production data makes and tests do not: a field left None, a number read as text ("60" from an ini file),
a naive datetime made aware or an aware one naive, a string replaced by a literal of the reported message,
a collection emptied. A call is kept only when it raises the reported error word for word in the crash
function, as the probe's are (`agents.probe`); its code carries the pickle, so bisect can run it at any
commit (where the pickle no longer loads, the commit says nothing). A call that raised in the tests is not
replayed: it is what a test expected (`with pytest.raises(PageOutOfRange): get_page(items, 3)`), and a change to
it that still raises says nothing of production's failure.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents.probe import TRIAL_SOURCE, import_roots
from agents.workspace import repro_env, run_heavy, test_env

__all__ = ["carve", "varied_call", "Carved"]

PER_FUNCTION = 3  # calls carved per function
MAX_PICKLE = 24_000  # bytes of one carved call (it goes into the repro's command line)
MAX_TRIALS = 240
PER_ROW = 60  # changes tried per carved call
PER_CALL_S = 2

Carved = dict[str, Any]  # {"path", "function", "names", "pickle" (base64), "method": bool, "raised": bool}

_HOOK = Path(__file__).with_name("carve_hook.py")  # becomes the carving run's sitecustomize


def carve(root: Path, suite_args: list[str], targets: list[tuple[str, str]], *,
          timeout_s: float = 300.0) -> list[Carved]:
    """Run the test command once, recording the calls of `targets` ((repository path, function name))."""
    if not targets or not suite_args:
        return []
    with tempfile.TemporaryDirectory(prefix="swarm-carve-") as tmp:
        shutil.copyfile(_HOOK, Path(tmp, "sitecustomize.py"))
        spec = {"targets": [[str(root / p), f] for p, f in targets], "out": str(Path(tmp, "calls")),
                "per": PER_FUNCTION, "max_pickle": MAX_PICKLE}
        env = test_env({"SWARM_CARVE_SPEC": json.dumps(spec)})
        env["PYTHONPATH"] = tmp + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        run_heavy(suite_args, root, timeout_s=timeout_s, max_output=20_000, env=env)
        rows: list[Carved] = []
        for out in sorted(Path(tmp).glob("calls.*")):
            try:
                rows += json.loads(out.read_text())
            except (OSError, ValueError):
                continue
    real = os.path.realpath(root) + os.sep
    out_rows: list[Carved] = []
    for row in rows:
        if not row["file"].startswith(real) or "<" in row["qualname"]:
            continue  # a lambda or a nested function is not callable from outside
        path = row["file"][len(real):]
        method = bool(row["names"]) and row["names"][0] == "self" and "." in row["qualname"]
        out_rows.append({"path": path, "function": row["function"], "qualname": row["qualname"],
                         "names": row["names"], "kwargs": row["kwargs"], "pickle": row["pickle"], "method": method,
                         "raised": bool(row.get("raised"))})
    return out_rows


_REPLAY = Path(__file__).with_name("carve_replay.py")  # run by path in the repository's interpreter


def varied_call(root: Path, records: list[Carved], exc_type: str, message: str, crash: tuple[str, str],
                literals: list[Any], *, timeout_s: float = 60.0) -> tuple[str, str, str] | None:
    """(code of a call raising `exc_type: message` in `crash`, "path:function" called, what was changed)
    from `records` (tried in their order), or None."""
    by_root: dict[tuple[str, str], list[dict[str, Any]]] = {}
    # a call that raised in the tests was expected to (`pytest.raises`): changed or not, its raise says nothing
    for rec in (r for r in records if not r.get("raised")):
        ways = import_roots(root, rec["path"])
        if not ways:
            continue
        sys_dir, module = ways[0]
        by_root.setdefault((sys_dir, module), []).append({**rec, "module": module})
    for (sys_dir, _), rows in by_root.items():
        spec = {"sys_dir": sys_dir, "rows": rows, "literals": literals, "max_trials": MAX_TRIALS,
                "per_row": PER_ROW, "per_call": PER_CALL_S, "trial_source": TRIAL_SOURCE}
        res = run_heavy([sys.executable, str(_REPLAY), json.dumps(spec)], root, timeout_s=timeout_s,
                        max_output=600_000, env=repro_env())
        for line in res.output.splitlines():
            if not line.startswith("CARVED "):
                continue
            n, edit, call, out = json.loads(line[7:])
            if out and out[0] == exc_type and out[2:4] == list(crash) and out[1].strip() == message:
                blob = rows[n]["pickle"]
                code = (f"import base64, datetime as _dt, importlib, os, pickle, sys; "
                        f"sys.path.insert(0, os.path.abspath({sys_dir!r})); _m = importlib.import_module; "
                        f"a = pickle.loads(base64.b64decode({blob!r})); {edit}; {call}")
                what = edit.split("; ", 1)[1] if edit != "pass" else "nothing changed"
                return code, f"{rows[n]['path']}:{rows[n]['function']}", what
    return None
