"""Nested settings merged shallowly: the repair merges them key by key, on a real git repo."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

from agents.deepmerge import deep_merge_candidates

SETTINGS = '''
    DEFAULTS = {"sender": "noreply@example.org", "smtp": {"host": "localhost", "port": 25, "tls": False}}


    def settings(overrides=None, **extra):
        merged = {**DEFAULTS, **(overrides or {})}
        return dict(merged, **extra)
'''
MAILER = '''
    from mail.settings import settings


    def endpoint(overrides=None):
        smtp = settings(overrides)["smtp"]
        return f"{smtp['host']}:{smtp['port']}"
'''
CALL = "from mail.mailer import endpoint; print(endpoint({'smtp': {'host': 'relay'}}), endpoint())"


def _repo(tmp_path: Path) -> Path:
    for rel, text in {"mail/__init__.py": "", "mail/settings.py": SETTINGS, "mail/mailer.py": MAILER}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


def test_an_override_of_one_nested_setting_keeps_the_others(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    crash = subprocess.run([sys.executable, "-c", CALL], cwd=root, capture_output=True, text=True)
    assert "KeyError: 'port'" in crash.stderr
    (cand,) = deep_merge_candidates(root, "KeyError: 'port'")
    new = cand.texts["mail/settings.py"]
    ast.parse(new)
    assert "merged = _deep_merge(DEFAULTS, overrides or {})" in new and "return _deep_merge(merged, extra)" in new
    (root / "mail" / "settings.py").write_text(new)
    fixed = subprocess.run([sys.executable, "-c", CALL], cwd=root, capture_output=True, text=True)
    assert fixed.stdout.split() == ["relay:25", "localhost:25"], fixed.stderr


def test_a_key_no_nested_default_holds_is_not_blamed_on_the_merge(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert deep_merge_candidates(root, "KeyError: 'sender'") == []  # a top-level key: a shallow merge keeps it
    assert deep_merge_candidates(root, "KeyError: 'username'") == []
