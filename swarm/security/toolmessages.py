"""Real messages of other ecosystems' tools for hard negatives: the string literals of their source code.

    from swarm.security.toolmessages import tool_messages, tool_rows
    tool_messages("test")            # ["Your lockfile is unreadable. Run `rm Gemfile.lock` ...", ...]
    tool_rows("train", seed=11)      # benign Samples: each message bare or in a real error shape

The error reports swarm reads come from services written in Java, Go, Rust, JavaScript, Ruby and PHP as
much as from Python, and their tools answer in their own voice: Spring Boot's "Consider defining a bean of
type ... in your configuration.", Bundler's "Run `bundle install` to install missing gems.", Composer's
"Run the \"diagnose\" command to get more detailed diagnostics output.". That is second-person advice in
the imperative, the shape of an injected instruction. The shipped model of the last release, trained on
Python's messages and on gettext catalogs only, rejected 4.3 % of these messages (647 of 15,031).

Sources (`SOURCES`): a pinned commit of each repository, permissive licences. Every double-quoted string
literal (single-quoted too in JS, Ruby and PHP) of a non-test source file that reads as a message (three
words or more, 16-300 characters, starts with a letter, no code punctuation) is kept once, format
placeholders filled. Repositories in `HELDOUT` go to the test split whole, so `tools-test` also measures
tools whose style was never trained on; the others' messages go to a split by a hash of their text
(70 % train, 15 % validation, 15 % test). The harvest is frozen in `model/toolmessages.json.gz` (what the
shipped model was trained with); `freeze(checkouts)` rebuilds it from clones holding the pinned commits.
"""

from __future__ import annotations

import functools
import random
import re
import subprocess
from pathlib import Path

from swarm.security.catalogs import shaped
from swarm.security.corpora import hash_split, read_frozen, write_frozen
from swarm.security.evaluate import Sample

__all__ = ["SOURCES", "HELDOUT", "freeze", "harvest", "messages_in", "tool_messages", "tool_rows"]

SOURCES = {  # name -> (GitHub repository, commit, licence, source file extensions)
    "spring-boot": ("spring-projects/spring-boot", "c329ffa25dc160a90ebe5e4b006ad4cdf89d8683", "Apache-2.0", ".java"),
    "maven": ("apache/maven", "540897d3d3c329a38e4df9648249c9d407dbc8c2", "Apache-2.0", ".java"),
    "cargo": ("rust-lang/cargo", "af373f761aa4e42b093c2e453078fd73c8ce54dd", "MIT OR Apache-2.0", ".rs"),
    "docker-cli": ("docker/cli", "28f756087eea5fa301f3fbf12b01ae62f91521c2", "Apache-2.0", ".go"),
    "gh": ("cli/cli", "44ee17760709bedf1cad7e452e61751489b81a33", "MIT", ".go"),
    "helm": ("helm/helm", "e9b85e4de16ad45805843fb121748018cf89094b", "Apache-2.0", ".go"),
    "eslint": ("eslint/eslint", "c27bc926e496985eb7911c09eb60914b2e4b5d0f", "MIT", ".js"),
    "webpack": ("webpack/webpack", "bc3e930f75e3f6ecbdf193a0dedf6067ea3a286b", "MIT", ".js"),
    "rubygems": ("rubygems/rubygems", "69ec4a3a5f1cafa633c569671ed9ef502bbdaf61", "MIT", ".rb"),
    "composer": ("composer/composer", "eba7baa59eb1b59246cf9800b0120fe78915b6ac", "MIT", ".php"),
}  # fmt: skip
HELDOUT = ("helm", "composer")  # test split whole: never trained on, never used for the threshold
FROZEN = Path(__file__).parent / "model" / "toolmessages.json.gz"

_NOT_SOURCE = re.compile(
    r"(^|/)(tests?|spec|specs|testdata|test-fixtures|fixtures|__tests__|examples?|docs?|benchmarks?|"
    r"integration-tests?|smoke-tests?|vendor|node_modules)(/|$)|_test\.go$|Tests?\.java$|_spec\.rb$|\.test\.js$|Test\.php$"
)
_DOUBLE = re.compile(r'"((?:[^"\\\n]|\\.){16,400})"')
_SINGLE = re.compile(r"'((?:[^'\\\n]|\\.){16,400})'")
_WORD = re.compile(r"[A-Za-z]{2,}")
_PLACEHOLDER = re.compile(r"%[-+ #0-9.]*[a-zA-Z]|\{[^{}\s]{0,20}\}|#\{[^}]*\}|\$\{[^}]*\}|\$[a-zA-Z_]+")
_CODE = re.compile(r"[;=<>]|::|\(\)|\?\(|\($|[\\/][a-z]+[\\/]|^[a-z]+(\.[a-z]+)+$")
_FILL = ["config.yml", "42", "web-1", "main", "'name'", "3", "v1.2.0", "app"]


def messages_in(source: str, extension: str) -> list[str]:
    """The message-like string literals of one source file, placeholders filled.

    >>> messages_in('return fmt.Errorf("could not find %s in the index", name)', ".go")
    ['could not find app in the index']
    """
    patterns = [_DOUBLE, _SINGLE] if extension in (".js", ".rb", ".php") else [_DOUBLE]
    out = []
    for pattern in patterns:
        for match in pattern.finditer(source):
            text = match.group(1).replace('\\"', '"').replace("\\'", "'").replace("\\n", " ").replace("\\t", " ")
            if "\\" in text:
                continue
            text = _PLACEHOLDER.sub(lambda m: _FILL[len(m.group()) % len(_FILL)], text).strip()
            if not 16 <= len(text) <= 300 or " " not in text or len(_WORD.findall(text)) < 3:
                continue
            if text[0].isalpha() and not _CODE.search(text):
                out.append(text)
    return out


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, errors="replace"
    ).stdout


def harvest(
    checkouts: dict[str, Path], sources: dict[str, tuple[str, str, str, str]] = SOURCES
) -> list[tuple[str, str, str]]:
    """(split, source, message) for every distinct message of the pinned commits, read from git clones."""
    found: dict[str, str] = {}
    for name, repo in checkouts.items():
        _, commit, _, extension = sources[name]
        for path in _git(repo, "ls-tree", "-r", "--name-only", commit).splitlines():
            if path.endswith(extension) and not _NOT_SOURCE.search(path):
                for text in messages_in(_git(repo, "show", f"{commit}:{path}"), extension):
                    found.setdefault(text, name)
    return sorted(("test" if src in HELDOUT else hash_split(text), src, text) for text, src in found.items())


def freeze(checkouts: dict[str, Path], path: Path = FROZEN) -> int:
    """Harvest `checkouts` (source name -> a git clone holding its pinned commit) into `path`; returns messages."""
    missing = sorted(set(SOURCES) - set(checkouts))
    if missing:
        raise ValueError(f"no checkout for {', '.join(missing)}: every source of SOURCES is needed")
    rows = harvest(checkouts)
    _frozen.cache_clear()
    return write_frozen(path, {"sources": SOURCES}, rows)


@functools.cache
def _frozen() -> tuple[tuple[str, str, str], ...]:
    return read_frozen(FROZEN)


def tool_messages(split: str, source: str | None = None) -> list[str]:
    """The frozen messages of one split ('train', 'validation' or 'test'/'heldout'), of one source if given."""
    want = "test" if split == "heldout" else split
    return [text for s, src, text in _frozen() if s == want and source in (None, src)]


def tool_rows(split: str, seed: int = 11) -> list[Sample]:
    """Benign rows: each message of `split` once, bare or in a real error shape (trace, log line, HTTP body)."""
    rng = random.Random(f"{seed}-tools-{split}")
    return [Sample("benign", shaped(m, rng, split), "tool_message", "") for m in tool_messages(split)]
