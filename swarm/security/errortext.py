"""Real error text for hard negatives: exception and log messages, frames, harvested from Python code.

    from swarm.security.errortext import error_pool, render_error
    pool = error_pool("validation")                 # messages and frames of one split
    render_error(pool, random.Random(1))            # a Python / Java / JS / Go / log-line error text

The messages are the literal `raise X("...")`, `log.warning("...")` and `warnings.warn("...")` strings
of the standard library (PSF licence) and of the installed packages in `PACKAGES` (the project's
dependencies and theirs; permissive licences: MIT, BSD, Apache-2.0), the frames their real function
names, files and line numbers. Each message and each file is assigned to a split by a hash of its text (70 % train,
15 % validation, 15 % held out), so held-out error texts use messages and files never trained on.
The live harvest depends on the installed versions, so the one the shipped model was trained and
calibrated with is frozen in `model/errortext.json.gz` and used from there (`freeze()` writes a new one
before retraining; the versions are in the data card).
"""

from __future__ import annotations

import ast
import functools
import gzip
import json
import random
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from swarm.security.corpora import hash_split

if TYPE_CHECKING:
    from swarm.models import ErrorReport

__all__ = [
    "ErrorPool", "error_pool", "render_error", "report_fields", "report_of", "frozen_versions", "installed_versions",
]  # fmt: skip

PACKAGES = (
    "aiohttp", "anthropic", "anyio", "attr", "click", "confection", "cryptography", "distlib", "filelock", "git",
    "gitdb", "google", "grpc", "httpcore", "httpx", "jinja2", "jsonschema", "multidict", "nats",
    "numpy", "opentelemetry", "packaging", "pip", "platformdirs", "psutil", "pydantic", "pydantic_settings",
    "_pytest", "requests", "rich", "setuptools", "smart_open", "spacy", "srsly", "thinc", "typer", "urllib3",
    "virtualenv", "weasel", "yaml", "yarl",
)  # fmt: skip
_LOG_CALLS = {"error", "warning", "warn", "exception", "critical", "info", "fatal"}
_SKIP = {"test", "tests", "idlelib", "site-packages", "lib2to3", "turtledemo", "__phello__"}
_FILL = ["x", "42", "'utf-8'", "None", "users", "3.5", "<object>", "'id'"]
_SERVICES = (
    "api", "web", "worker", "signup", "checkout", "billing", "payments", "auth", "search", "gateway", "orders",
    "notifications", "scheduler", "ingest", "reports", "inventory", "profile", "admin", "mailer", "frontend",
)  # fmt: skip
_EXTENSIONS = (".py", ".java", ".go", ".js", ".ts", ".rb", ".php", ".rs", ".kt", ".cs")


@dataclass(frozen=True)
class ErrorPool:
    messages: tuple[tuple[str, str], ...]  # (exception name, message)
    frames: tuple[tuple[str, int, str], ...]  # (file, line, function)


def _message(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for i, v in enumerate(node.values):
            parts.append(v.value if isinstance(v, ast.Constant) else _FILL[i % len(_FILL)])
        return "".join(str(p) for p in parts)
    return None


Harvest = tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, int, str, str], ...]]
FROZEN = Path(__file__).parent / "model" / "errortext.json.gz"


@functools.cache
def _harvest() -> Harvest:
    """The frozen harvest the shipped model was trained and calibrated with (independent of what is installed)."""
    if FROZEN.is_file():
        data = json.loads(gzip.decompress(FROZEN.read_bytes()))
        return (tuple(tuple(m) for m in data["messages"]),  # type: ignore[misc]
                tuple((s, int(n), fn, f) for s, n, fn, f in data["frames"]))
    return harvest_live()


def freeze(path: Path = FROZEN) -> int:
    """Write the live harvest and the versions it read to `path` (what `swarm security train` uses from then
    on); returns its entries."""
    messages, frames = harvest_live()
    data = {"messages": messages, "frames": frames, "versions": installed_versions()}
    path.write_bytes(gzip.compress(json.dumps(data).encode(), mtime=0))
    _harvest.cache_clear()
    error_pool.cache_clear()
    frozen_versions.cache_clear()
    return len(messages) + len(frames)


@functools.cache
def frozen_versions(path: Path = FROZEN) -> dict[str, str] | None:
    """The package versions the frozen harvest was read from (None without a frozen harvest)."""
    if not path.is_file():
        return None
    return dict(json.loads(gzip.decompress(path.read_bytes())).get("versions", {}))


def installed_versions() -> dict[str, str]:
    """Distribution versions of the installed `PACKAGES` (what a live harvest reads now)."""
    dists = metadata.packages_distributions()
    out = {}
    for package in PACKAGES:
        for dist in dists.get(package, [])[:1]:
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return dict(sorted(out.items()))


def harvest_live() -> Harvest:
    """Harvest the standard library and the installed `PACKAGES` now (depends on their versions)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    files = [(stdlib, p) for p in sorted(stdlib.rglob("*.py"))]
    for package in PACKAGES:
        files += [(purelib, p) for p in sorted((purelib / package).rglob("*.py"))]
    messages: set[tuple[str, str, str]] = set()
    frames: list[tuple[str, int, str, str]] = []
    for root, path in files:
        rel = path.relative_to(root)
        if _SKIP & set(rel.parts) or rel.name.startswith("test") or "site-packages" in rel.parts[:1]:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        split = hash_split(str(rel))
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                text = _message(node.exc.args[0])
                if name and text and 8 <= len(text) <= 300:
                    messages.add((hash_split(text), name, text))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                if node.func.attr in _LOG_CALLS:
                    text = _message(node.args[0])
                    if text and 12 <= len(text) <= 300 and " " in text:
                        text = text.replace("%s", _FILL[len(text) % len(_FILL)]).replace("%r", "'x'").replace("%d", "3")
                        messages.add((hash_split(text), node.func.attr.upper(), text))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                frames.append((split, node.lineno, node.name, str(rel)))
    return tuple(sorted(messages)), tuple(frames)


@functools.cache
def error_pool(split: str) -> ErrorPool:
    """Messages and frames of one split ('train', 'validation' or 'heldout')."""
    want = "test" if split == "heldout" else split
    messages, frames = _harvest()
    return ErrorPool(
        tuple((n, t) for s, n, t in messages if s == want),
        tuple((f, line, fn) for s, line, fn, f in frames if s == want),
    )


def _frames(pool: ErrorPool, rng: random.Random, k: int) -> list[tuple[str, int, str]]:
    return [rng.choice(pool.frames) for _ in range(k)]


def render_error(pool: ErrorPool, rng: random.Random, message: str | None = None) -> str:
    """An error text in one of several shapes; `message` (default: a harvested one) is its error line."""
    name, text = rng.choice(pool.messages)
    text = message if message is not None else text
    frames = _frames(pool, rng, rng.randint(1, 5))
    shape = rng.randrange(7)
    if shape == 6:  # a minified bundle: short names, long column numbers, code fragments
        names = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(2))
                 for _ in range(rng.randint(3, 9))]  # fmt: skip
        bundle = f"{rng.choice(['main', 'vendor', 'chunk', 'app'])}.{rng.getrandbits(24):06x}.js"
        code = rng.choice(
            [f"{names[0]}.prototype.{frames[0][2]}=function(e,t){{", "!function(e){var t={};", "(0,r.default)("]
        )
        at = " ".join(f"at {n} ({bundle}:{rng.randint(1, 3)}:{rng.randint(100, 99999)})" for n in names)
        return f"{code}throw new {name}({text!r})}} {at}"
    if shape == 0:
        body = "".join(f'  File "/usr/lib/python3.11/{f}", line {n}, in {fn}\n' for f, n, fn in frames)
        return f"Traceback (most recent call last):\n{body}{name}: {text}"
    if shape == 1:
        pkg = "org.example." + frames[0][0].split("/")[0].removesuffix(".py")
        body = "".join(f"\n\tat {pkg}.{fn}({Path(f).stem}.java:{n})" for f, n, fn in frames)
        return f"java.lang.{name}: {text}{body}"
    if shape == 2:
        body = "".join(f"\n    at {fn} (/app/src/{Path(f).stem}.js:{n}:{rng.randint(1, 80)})" for f, n, fn in frames)
        return f"{name}: {text}{body}"
    if shape == 3:
        body = "".join(
            f"main.{fn}(...)\n\t/go/src/app/{Path(f).stem}.go:{n} +0x{rng.randint(16, 999):x}\n" for f, n, fn in frames
        )
        return f"panic: {text}\n\ngoroutine {rng.randint(1, 99)} [running]:\n{body}".rstrip()
    if shape == 4:
        level = rng.choice(["ERROR", "WARN", "CRITICAL", "error"])
        stamp = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(0, 9)}:12:31Z"
        return f"{stamp} {level} [{frames[0][2]}] {text}"
    return f"{name}: {text}"


def report_fields(error: str, rng: random.Random, split: str) -> dict[str, str]:
    """An error report's text fields around `error`, named as `ErrorReport.texts()` names them: a service,
    and a context file, line, sometimes a function and a request id, from the split's real frames."""
    file, line, function = rng.choice(error_pool(split).frames)
    fields = {
        "error": error,
        "service": rng.choice(_SERVICES) + rng.choice(["", "-service", "-api", f"-{rng.randint(1, 9)}"]),
        "context.file": file.removesuffix(".py") + rng.choice(_EXTENSIONS),
        "context.line": str(line),
    }
    if rng.random() < 0.5:
        fields["context.function"] = function
    if rng.random() < 0.3:
        fields["context.request_id"] = f"req-{rng.getrandbits(48):012x}"
    return fields


def report_of(fields: dict[str, str]) -> ErrorReport:
    """The `ErrorReport` whose `texts()` are `fields` (as `report_fields` names them)."""
    from swarm.models import ErrorReport

    context = {k.removeprefix("context."): v for k, v in fields.items() if k.startswith("context.")}
    return ErrorReport(error=fields["error"], service=fields["service"], context=context)
