"""Reading the files a user names (config, rules, auth, streams): every way it can fail is a ConfigError.

    text = read_config_text(Path("configs/swarm.yaml"), "config file")
    # ConfigError: "config file configs is a directory, not a file" / "... is not UTF-8 text ..."
"""

from __future__ import annotations

from pathlib import Path

from swarm.errors import ConfigError

__all__ = ["read_config_text"]


def read_config_text(path: Path, what: str) -> str:
    """The UTF-8 text of `path`; a ConfigError that names `what` and the path when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{what} {path} is a directory, not a file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {path} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})") \
            from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
