"""Reading the files a user names (config, rules, auth, streams, texts to check): every way it can fail
is one error that names the file (a ConfigError unless the caller names another class of the tree).

    text = read_user_file(Path("configs/swarm.yaml"), "config file")
    # ConfigError: "config file configs is a directory, not a file" / "... is not UTF-8 text ..."
    text = read_user_file(Path("trace.txt"), "file", InvalidInput)
    data = read_yaml(Path("configs/streams.yaml"), "streams config")
    # ConfigError: "invalid streams config configs/streams.yaml: line 3 column 1: not YAML (...)"
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from swarm.errors import ConfigError, SwarmError

__all__ = ["read_user_file", "read_user_text", "read_yaml", "FileModel"]


class FileModel(BaseModel):
    """A section of a config file: numbers are finite (YAML's `.nan` and `.inf` are refused), a
    duration (a field named `*_s`, in seconds) is never negative, and a key it does not know is an error
    (a misspelt `duplicate_windows_s` silently left the default in force).

        class Limits(FileModel):
            ack_wait_s: float = 30.0        # `ack_wait_s: -5` -> "ack_wait_s is a duration in seconds: ..."
    """

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    @model_validator(mode="after")
    def _durations_not_negative(self) -> FileModel:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name.endswith("_s") and isinstance(value, int | float) and value < 0:
                raise ValueError(f"{name} is a duration in seconds: it cannot be negative (got {value})")
        return self


def read_user_file(path: Path, what: str, error: type[SwarmError] = ConfigError) -> str:
    """The UTF-8 text of `path`; an `error` that names `what` and the path when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{what} not found: {path}") from exc
    except IsADirectoryError as exc:
        raise error(f"{what} {path} is a directory, not a file") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})") from exc
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def read_user_text(name: str, what: str, error: type[SwarmError] = ConfigError) -> str:
    """`read_user_file` of the path `name`, or standard input for `-`, held to the same UTF-8 check (the
    locale's decoding of stdin would keep bad bytes as surrogates, or refuse them with a traceback)."""
    if name != "-":
        return read_user_file(Path(name), what, error)
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = f"byte {exc.start} is {data[exc.start]:#04x}"
        raise error(f"{what} on standard input is not UTF-8 text ({bad})") from None


def read_yaml(path: Path, what: str, loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.SafeLoader) -> Any:
    """The YAML document of `path` (`read_user_file`'s errors), or a ConfigError in one line: where and what
    is not YAML (the parser's own message spans several lines and quotes the file)."""
    text = read_user_file(path, what)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader (or a subclass of it)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}:" if mark is not None else ""
        raise ConfigError(f"invalid {what} {path}:{where} not YAML ({getattr(exc, 'problem', None) or exc})") \
            from exc
