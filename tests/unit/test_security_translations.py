"""Localized user-facing messages (the catalogs' translations) as benign rows for the injection model."""

from __future__ import annotations

import collections
import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from swarm.cli import app
from swarm.security.corpora import hash_split
from swarm.security.translations import CAPS, WHEELS, _frozen, harvest, translation_rows, translations

runner = CliRunner()

# a German and a Japanese catalog as translators write them: a header, a context, a plural, multi-line strings,
# an untranslated entry, a label too short to keep
PO_DE = r'''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

msgid "OK"
msgstr "OK"

#: views.py:40
msgctxt "upload"
msgid "The file %(name)s is larger than %(limit)d MB. Please choose a smaller one."
msgstr "Die Datei %(name)s ist größer als %(limit)d MB. Bitte eine kleinere wählen."

msgid "Deleted one chart"
msgid_plural "Deleted %d charts"
msgstr[0] "Ein Diagramm gelöscht"
msgstr[1] "%d Diagramme gelöscht"

msgid ""
"Your session has expired. Please sign in "
"again to continue."
msgstr ""
"Ihre Sitzung ist abgelaufen. Bitte melden Sie sich "
"erneut an, um fortzufahren."

msgid "This entry has no translation yet."
msgstr ""

msgid "Please check your settings and retry."
msgstr "Please check your settings and retry."
'''
PO_JA = r'''msgid ""
msgstr ""

msgid ""
"Your session has expired. Please sign in "
"again to continue."
msgstr "セッションの有効期限が切れました。続行するには再度サインインしてください。"
'''
SESSION = "Your session has expired. Please sign in again to continue."


def test_a_wheel_s_translations_are_harvested_in_the_split_of_their_english_message(tmp_path: Path) -> None:
    wheel = tmp_path / "demoapp-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demoapp/locale/de/LC_MESSAGES/django.po", PO_DE)
        z.writestr("demoapp/locale/ja/LC_MESSAGES/django.po", PO_JA)
        z.writestr("demoapp/locale/en_GB/LC_MESSAGES/django.po", PO_DE)  # an English locale: not a translation
    rows = harvest(tmp_path)
    by_text = {text: (split, where) for split, where, text in rows}
    session_de = "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an, um fortzufahren."
    session_ja = "セッションの有効期限が切れました。続行するには再度サインインしてください。"
    assert by_text[session_de] == (hash_split(SESSION), "demoapp/de")
    assert by_text[session_ja] == (hash_split(SESSION), "demoapp/ja")  # no spaces between words: still kept
    upload = [t for t in by_text if t.startswith("Die Datei")]
    assert len(upload) == 1 and "%(" not in upload[0] and "%d" not in upload[0]
    assert by_text["Ein Diagramm gelöscht"][0] == hash_split("Deleted one chart")  # the plural's first form
    assert "OK" not in by_text and not any("no translation" in t for t in by_text)  # a label, an empty msgstr
    assert "Please check your settings and retry." not in by_text  # left in English: not a translation
    assert not any(where.endswith("/en_GB") for _, where, _ in rows)
    assert len(rows) == 4


def test_the_frozen_harvest_covers_many_languages_every_source_and_holds_its_caps() -> None:
    rows = _frozen()
    splits = collections.Counter(split for split, _, _ in rows)
    assert dict(splits) == CAPS  # each split full to its cap: the harvest has more than that
    sources = collections.Counter(where.split("/")[0] for _, where, _ in rows)
    assert set(sources) == set(WHEELS) and min(sources.values()) > 500
    test_languages = collections.Counter(lang for lang, _ in translations("test"))
    assert len(test_languages) > 80 and max(test_languages.values()) < 0.05 * CAPS["test"]
    assert {"ja", "zh_Hans", "ru", "ar", "de", "es", "hi"} <= set(test_languages)
    texts = {s: {t for _, t in translations(s)} for s in CAPS}
    assert not (texts["train"] & texts["test"] or texts["train"] & texts["validation"])
    assert translations("heldout") == translations("test") and translations("nope") == []


def test_translation_rows_are_benign_deterministic_and_carry_each_message() -> None:
    rows = translation_rows("validation", seed=3)
    assert rows == translation_rows("validation", seed=3) != translation_rows("validation", seed=4)
    messages = translations("validation")
    assert len(rows) == len(messages) == CAPS["validation"]
    assert all(r.label == "benign" and r.category == f"translated/{lang}"
               for r, (lang, _) in zip(rows, messages, strict=True))
    carried = sum(m in r.text or json.dumps(m)[1:-1] in r.text for r, (_, m) in zip(rows, messages, strict=True))
    assert carried >= 0.9 * len(rows)
    bare = sum(r.text == m for r, (_, m) in zip(rows, messages, strict=True))
    assert 0.05 * len(rows) < bare < 0.5 * len(rows)  # bare or in an English error's shape


def test_eval_translations_reports_the_false_positive_rate_per_language() -> None:
    """`swarm security eval --translations`: the test split's localized messages, benign only, per language."""
    result = runner.invoke(app, ["security", "eval", "--translations", "--compare", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["corpora"]["translations-test"]
    both, rules = data["rules+model"], data["rules"]
    assert both["benign"] == CAPS["test"] and both["attacks"] == 0
    assert rules["false_positive_rate"] <= 0.001
    per_language = both["fpr_by_category"]
    assert len(per_language) > 80 and sum(v["total"] for v in per_language.values()) == CAPS["test"]
    # 24 of 4,000 (0.60 %); before the encoder head was trained on the train split's translations: 57 (1.43 %)
    assert both["false_positive_rate"] <= 0.007


def test_the_encoder_head_does_not_take_an_unfamiliar_language_for_an_attack() -> None:
    """Bare held-out translations ("Toto uživatelské jméno již existuje."): the head read word pieces of a language
    it cannot read as noise and rejected 46 of these 800; trained on other messages' translations, 5."""
    from swarm.security.injection import InjectionFilter

    check = InjectionFilter().check_text
    verdicts = [check(text) for _, text in translations("test")[:800]]
    by_encoder = sum(v.rejected and v.encoder_fired for v in verdicts)
    assert by_encoder <= 12
    # the n-gram heads reject the rest (28 of 800: 3.5 %, seven times the goal for real error reports)
    assert sum(v.rejected for v in verdicts) <= 40
