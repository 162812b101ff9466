"""Real user-facing messages (gettext catalogs) as hard negatives for the injection model."""

from __future__ import annotations

import collections
import zipfile
from pathlib import Path

import pytest

from swarm.security.catalogs import WHEELS, _frozen, catalog_messages, catalog_rows, harvest
from swarm.security.corpora import hash_split

# a catalog as projects write it: a header, a context, a plural, a multi-line msgid, labels too short to keep
PO = r'''# Translation of an app.
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

#: views.py:12
msgid "OK"
msgstr "OK"

#: views.py:40
msgctxt "upload"
msgid "The file %(name)s is larger than %(limit)d MB. Please choose a smaller one."
msgstr "Die Datei ..."

msgid "Deleted one chart"
msgid_plural "Deleted %d charts"
msgstr[0] "..."

msgid "Can\'t open the file, please retry later."
msgstr "..."

#: forms.py:8
msgid ""
"Your session has expired. Please sign in "
"again to continue."
msgstr "..."
'''


def test_a_wheel_s_catalog_gives_its_prose_messages_with_placeholders_filled(tmp_path: Path) -> None:
    wheel = tmp_path / "demoapp-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demoapp/locale/de/LC_MESSAGES/django.po", PO)
        z.writestr("demoapp/locale/fr/LC_MESSAGES/django.po", PO)  # same msgids: kept once
        z.writestr("demoapp/views.py", 'msgid "not a catalog, never read"\n')
    rows = harvest(tmp_path, postgres_glob=str(tmp_path / "none" / "*.mo"))
    texts = [t for _, _, t in rows]
    assert "Your session has expired. Please sign in again to continue." in texts
    upload = [t for t in texts if t.startswith("The file ")]
    assert len(upload) == 1 and "%(" not in upload[0] and "%d" not in upload[0]
    assert "OK" not in texts and "Deleted one chart" in texts  # a label is dropped; three words are prose
    assert not any("never read" in t or "retry later" in t for t in texts)  # an escape JSON cannot read: dropped
    assert len(texts) == len(set(texts)) == 3
    assert all(split == hash_split(text) and source == "demoapp" for split, source, text in rows)


def test_the_frozen_harvest_has_every_source_and_disjoint_splits() -> None:
    rows = _frozen()
    sources = collections.Counter(source for _, source, _ in rows)
    assert set(WHEELS) <= set(sources) and min(sources[s] for s in WHEELS) >= 100
    splits = {s: set(catalog_messages(s)) for s in ("train", "validation", "test")}
    assert len(splits["train"]) > 4 * len(splits["test"]) > 0
    assert not (splits["train"] & splits["validation"] or splits["train"] & splits["test"])
    assert all(hash_split(t) == s for s, texts in splits.items() for t in list(texts)[:500])
    assert catalog_messages("heldout") == catalog_messages("test")


def test_catalog_rows_are_benign_deterministic_and_hold_each_message_of_their_split() -> None:
    rows = catalog_rows("validation", seed=3)
    assert rows == catalog_rows("validation", seed=3) and rows != catalog_rows("validation", seed=4)
    assert all(s.label == "benign" and s.category == "catalog_message" for s in rows)
    messages = catalog_messages("validation")
    assert len(rows) == len(messages)
    # each row carries its message: as it is, in an HTTP body (JSON-escaped) or in a trace / log line
    carried = sum(m in r.text or m.replace('"', '\\"') in r.text for m, r in zip(messages, rows, strict=True))
    assert carried >= 0.9 * len(rows)
    assert len({r.text.split(":")[0] for r in rows}) > 20  # many shapes, not one template


@pytest.mark.parametrize("split", ["nope", ""])
def test_an_unknown_split_has_no_messages(split: str) -> None:
    assert catalog_messages(split) == []
