"""A callback left on the old call contract, with no other definition of its name to copy: its missing
parameters are named after the refused call's arguments (real git repository, real Python)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from agents.overrides import override_candidates

HOOKS = '''
    class Hooks:
        def __init__(self):
            self.by_event = {}

        def on(self, event, hook):
            self.by_event.setdefault(event, []).append(hook)

        def fire(self, event, record):
            meta = {"event": event, "seen": len(self.by_event.get(event, []))}
            return [hook(record, meta) for hook in self.by_event.get(event, [])]
'''
AUDIT = '''
    def audit(record):
        return f"audit {record['id']}"


    class Mirror:
        def copy(self, record, meta):
            return f"mirror {record['id']} {meta['event']}"
'''
CALL = ("from app.hooks import Hooks; from app.audit import audit, Mirror; h = Hooks(); h.on('saved', audit); "
        "h.on('saved', Mirror().copy); print(h.fire('saved', {'id': 7}))")


def test_a_callback_takes_the_arguments_the_caller_now_passes_named_as_the_caller_names_them(tmp_path: Path) -> None:
    for rel, text in {"app/__init__.py": "", "app/hooks.py": HOOKS, "app/audit.py": AUDIT}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    crash = subprocess.run([sys.executable, "-c", CALL], cwd=tmp_path, capture_output=True, text=True)
    message = crash.stderr.strip().splitlines()[-1]
    assert message == "TypeError: audit() takes 1 positional argument but 2 were given"
    call_line = (tmp_path / "app" / "hooks.py").read_text().splitlines()[9]
    assert override_candidates(tmp_path, message) == []  # no other `audit` to copy, no call to read
    (cand,) = override_candidates(tmp_path, message, call_line)
    assert "def audit(record, meta=None):" in cand.texts["app/audit.py"]
    (tmp_path / "app" / "audit.py").write_text(cand.texts["app/audit.py"])
    fixed = subprocess.run([sys.executable, "-c", CALL], cwd=tmp_path, capture_output=True, text=True)
    assert fixed.stdout.strip() == "['audit 7', 'mirror 7 saved']", fixed.stderr
