"""Numbers or text made a plain Enum: the repair makes it the IntEnum / StrEnum it must be, on real git repos."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from agents.enumbase import enum_base_candidates

LEVELS = '''
    from enum import Enum


    class Level(Enum):
        DEBUG = 10
        WARNING = 30
        ERROR = 40


    class Colour(Enum):
        RED = "#f00"
        BLUE = "#00f"


    class Mixed(Enum):
        A = 1
        B = "b"
'''
CALL = ("from logs.levels import Level, Colour; "
        "print(sorted([Level.ERROR, Level.DEBUG])[0].name, max(Level) - 5, 'c' + Colour.RED)")


def _repo(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "__init__.py").write_text("")
    (tmp_path / "logs" / "levels.py").write_text(textwrap.dedent(LEVELS).lstrip())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


def test_the_enum_the_message_names_gets_the_base_of_its_values(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    crash = subprocess.run([sys.executable, "-c", CALL], cwd=root, capture_output=True, text=True)
    assert "'<' not supported between instances of 'Level' and 'Level'" in crash.stderr
    (level,) = enum_base_candidates(root, "TypeError: '<' not supported between instances of 'Level' and 'Level'")
    (colour,) = enum_base_candidates(root, 'TypeError: can only concatenate str (not "Colour") to str')
    assert level.texts["logs/levels.py"].startswith("from enum import Enum, IntEnum\n")
    assert "class Level(IntEnum):" in level.texts["logs/levels.py"]
    assert "class StrEnum" not in colour.texts["logs/levels.py"] and "class Colour(StrEnum):" in colour.texts[
        "logs/levels.py"]
    both = level.texts["logs/levels.py"].replace("class Colour(Enum)", "class Colour(StrEnum)").replace(
        "Enum, IntEnum", "Enum, IntEnum, StrEnum")
    (root / "logs" / "levels.py").write_text(both)
    fixed = subprocess.run([sys.executable, "-c", CALL], cwd=root, capture_output=True, text=True)
    assert fixed.stdout.split() == ["DEBUG", "35", "c#f00"], fixed.stderr


def test_mixed_values_and_classes_the_message_does_not_name_are_left_alone(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert enum_base_candidates(root, "TypeError: bad operand type for unary -: 'Mixed'") == []
    assert enum_base_candidates(root, "TypeError: bad operand type for unary -: 'Other'") == []
