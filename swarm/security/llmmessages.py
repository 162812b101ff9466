"""Real error messages of LLM frameworks and SDKs, for hard negatives: what their code raises, warns and logs.

    from swarm.security.llmmessages import llm_messages, llm_rows
    llm_messages("test")             # ["Please install `boto3` to use Bedrock embedding models, ...", ...]
    llm_rows("train", seed=11)       # benign Samples: each message bare or in a real error shape

Services built on LLMs raise errors that speak of prompts, models, agents, tools and context windows, and
advise in the imperative ("Set it with `export DEEPSEEK_API_KEY=...`", "add `is_decoder=True`"): the most
frequent false positive of every blind review. The filter of 2026-12-05 rejected 1.5 % of these messages bare
(289 of 19,010), three times the goal for real error reports.

Sources (`SOURCES`): one pinned wheel of each package (PyPI, permissive licences; the wheel's SHA-256 is
recorded). Only messages, never prompts: the first argument of a `raise X(...)` and of a logging or warning
call (`logger.warning`, `warnings.warn`, ...), f-strings and `%` / `.format` placeholders filled, in source
files outside tests, examples, docs, prompts and templates (`litellm/enterprise`, under another licence, is
left out). A message is kept once, under the first package that has it. The packages of `HELDOUT` (chosen by
a hash of their names, before any model was trained with these: those whose SHA-256 is 0 mod 4) go to the
test split whole, so `llm-test` also measures frameworks whose style was never trained on; the others' messages
go to a split by a hash of their text (70 % train, 15 % validation, 15 % test). The harvest is frozen in
`model/llmmessages.json.gz`; `freeze(wheels)` rebuilds it from a directory holding the pinned wheels.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import random
import re
import zipfile
from pathlib import Path

from swarm.security.catalogs import shaped
from swarm.security.corpora import hash_split, read_frozen, write_frozen
from swarm.security.evaluate import Sample

__all__ = ["SOURCES", "HELDOUT", "freeze", "harvest", "messages_in", "llm_messages", "llm_rows"]

SOURCES = {  # package -> (version, licence, SHA-256 of the wheel)
    "anthropic": ("2.17.0", "MIT",
        "0fdabdad0430b23d10329ffbc6f1704bdef5c98e262898ecd210161623b0668a"),
    "crewai": ("1.15.30", "MIT",
        "a54909d778971a7ef21b6a1d52a59090fcc3e1c3fb09bb5ea5b117e6157e0e65"),
    "dspy": ("3.4.1", "MIT",
        "afda9e7f8b3d46be0829af19ac1153a6feaa6db5923f2b1011eef547fb15ce2d"),
    "guardrails-ai": ("0.11.0", "Apache-2.0",
        "da72ae291db7e45433559a8044f0ec0e5891119f53db767fe4c3c4c7093c498e"),
    "haystack-ai": ("3.4.1", "Apache-2.0",
        "f9093156d534adcf92ef68d03601c11b67f0945e81b00e999504b68bce4fdd80"),
    "instructor": ("1.17.0", "MIT",
        "f6b1832d178e899ee0a6a3f247e221f19580fa525c815211c02447691d761217"),
    "langchain": ("1.5.2", "MIT",
        "e6c2df67337cae4f13b93460e586084ad8c7c7cfd540d27e2572a96308747a7c"),
    "langchain-core": ("1.8.4", "MIT",
        "5755dee8f8b0c709cd22436dea3689c74a3f6e9dc4251590797dcd66bcd1ef67"),
    "langgraph": ("1.2.24", "MIT",
        "312f9a75c1aa0dde5571da32c5c24b891e726fa9781b835b956ec6d9746fa943"),
    "litellm": ("1.110.2", "MIT (enterprise/ excluded)",
        "9d94d1c7d524b6fd10c14f9c8c6c4f0ac31705f9964ac59dcfd8337c046d8917"),
    "llama-index-core": ("0.14.25", "MIT",
        "caa7d9c5ac9b13dc33400cf8d5e92e689b6d1e4497eb9bfa50d6f52ca2eb22a1"),
    "openai": ("3.63.0", "Apache-2.0",
        "51dbe5be02a11eb18b8ac35f2e89bdfbed42b40516f371648197bf7c4e721625"),
    "pydantic-ai-slim": ("2.78.0", "MIT",
        "74f2adb129890153e6a1214fb47dd67dbbc33d9d2e51db9eb8e35a145c71e68f"),
    "semantic-kernel": ("1.45.0", "MIT",
        "57b744fa7dc00cc3c151145bc0420684346b72230ba6620a8fbdd7c6345b6f81"),
    "transformers": ("5.25.0", "Apache-2.0",
        "8ca7a96cc329e5a053c9e770711e73d7bd9d77240ff62049fca6d253965cda52"),
}  # fmt: skip
HELDOUT = tuple(n for n in SOURCES if int(hashlib.sha256(n.encode()).hexdigest()[:8], 16) % 4 == 0)
FROZEN = Path(__file__).parent / "model" / "llmmessages.json.gz"

_NOT_SOURCE = re.compile(r"(^|/)(tests?|examples?|docs?|benchmarks?|enterprise)(/|$)|prompt|template", re.I)
_LOG_CALLS = {"warn", "warning", "error", "info", "debug", "exception", "critical", "fatal"}
_FILL = ["config.yml", "42", "gpt-4o", "'name'", "3", "v1.2.0", "app", "user_id"]
_PLACEHOLDER = re.compile(r"%[-+ #0-9.]*[a-zA-Z]|\{[^{}\s]{0,20}\}")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _text(node: ast.AST) -> str | None:
    """The text of a message argument: a literal, an f-string (its values filled), `+`, `%` or `.format` of one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else _FILL[i % len(_FILL)]
                       for i, v in enumerate(node.values))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return left + right if left is not None and right is not None else left or right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _text(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _text(node.func.value)
    return None


def messages_in(source: str) -> list[str]:
    """The messages one Python file raises, warns or logs, placeholders filled.

    >>> messages_in('raise ValueError(f"Model {name} does not support tool calls")')
    ['Model 42 does not support tool calls']
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            args = node.exc.args[:1]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_CALLS:
            args = node.args[:1]
        else:
            continue
        for arg in args:
            text = _text(arg)
            if not text:
                continue
            text = " ".join(_PLACEHOLDER.sub(lambda m: _FILL[len(m.group()) % len(_FILL)], text).split())
            if 16 <= len(text) <= 400 and len(_WORD.findall(text)) >= 3 and text[0].isalpha():
                out.append(text)
    return out


def _wheel(wheels: Path, name: str, version: str) -> Path:
    found = [p for p in wheels.glob("*.whl") if p.name.lower().replace("_", "-").startswith(f"{name}-{version}-")]
    if len(found) != 1:
        raise ValueError(f"no wheel of {name} {version} in {wheels} (pip download --no-deps {name}=={version})")
    return found[0]


def harvest(wheels: Path, sources: dict[str, tuple[str, str, str]] = SOURCES) -> list[tuple[str, str, str]]:
    """(split, package, message) for every distinct message of the pinned wheels in `wheels`."""
    found: dict[str, str] = {}
    for name, (version, _, _) in sources.items():  # in this order: a message shared is the first package's
        with zipfile.ZipFile(_wheel(wheels, name, version)) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if info.filename.endswith(".py") and not _NOT_SOURCE.search(info.filename):
                    for text in messages_in(z.read(info).decode("utf-8", "replace")):
                        found.setdefault(text, name)
    return sorted(("test" if src in HELDOUT else hash_split(text), src, text) for text, src in found.items())


def freeze(wheels: Path, path: Path = FROZEN) -> int:
    """Harvest the pinned wheels in `wheels` (their SHA-256 checked) into `path`; returns the messages."""
    for name, (version, _, sha) in SOURCES.items():
        got = hashlib.sha256(_wheel(wheels, name, version).read_bytes()).hexdigest()
        if got != sha:
            raise ValueError(f"the wheel of {name} {version} in {wheels} is not the pinned one (SHA-256 {got})")
    rows = harvest(wheels)
    _frozen.cache_clear()
    return write_frozen(path, {"sources": SOURCES, "heldout": list(HELDOUT)}, rows)


@functools.cache
def _frozen() -> tuple[tuple[str, str, str], ...]:
    return read_frozen(FROZEN)


def llm_messages(split: str, source: str | None = None) -> list[str]:
    """The frozen messages of one split ('train', 'validation' or 'test'), of one package if given."""
    return [text for s, src, text in _frozen() if s == split and source in (None, src)]


def llm_rows(split: str, seed: int = 11) -> list[Sample]:
    """Benign rows: each message of `split` once, bare or in a real error shape (trace, log line, HTTP body)."""
    rng = random.Random(f"{seed}-llm-{split}")
    return [Sample("benign", shaped(m, rng, split), "llm_message", "") for m in llm_messages(split)]
