"""Reading the files a user names (config, rules, auth, streams, texts to check): every way it can fail
is one error that names the file (a ConfigError unless the caller names another class of the tree).

    text = read_user_file(Path("configs/swarm.yaml"), "config file")
    # ConfigError: "config file configs is a directory, not a file" / "... is not UTF-8 text ..."
    text = read_user_file(Path("trace.txt"), "file", InvalidInput)
"""

from __future__ import annotations

from pathlib import Path

from swarm.errors import ConfigError, SwarmError

__all__ = ["read_user_file"]


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
