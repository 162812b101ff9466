"""Compiling `configs/injection_rules.yaml` (read and checked by swarm.security.rulesfile) into spaCy matchers.

    rules = load_rules()                          # the default file
    compiled = compile_rules(rules, make_nlp())   # Matcher, PhraseMatcher and one combined regex

A rule has an `id`, a `category` (declared under `categories:`), a `weight` and at least one of:

- `patterns`: spaCy Matcher token patterns. Strings under LOWER/ORTH/TEXT/NORM (and their IN/NOT_IN
  lists) go through `skeleton()`, exactly like the text, so they are written as plain words.
  `PREFIX: [word, ...]` matches a token starting with one of the words. A pattern may be given as
  `{weight: 0.5, pattern: [...]}` to weigh one form of the rule differently; a rule scores the highest
  weight among its matched forms, once.
- `phrases`: literal phrases for the PhraseMatcher (tokenized like the text, so markers such as
  `<|im_start|>` work).
- `regex`: Python regexes run on the *plain* view (case-folded, look-alikes folded, no leetspeak
  folding): for scripts without spaces (Chinese, Japanese) and line-anchored markers.

Every problem in the file is a ConfigError naming the rule and what is wrong.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

from swarm.security.normalise import skeleton
from swarm.security.prefilter import Hints, ascii_only, may_match, required_literals
from swarm.security.rulesfile import DEFAULT_RULES, Rule, RuleSet, load_rules, rule_error, rules_threshold

__all__ = ["Rule", "RuleSet", "Form", "Compiled", "BREAKS", "DEFAULT_RULES", "load_rules", "compile_rules", "make_nlp",
           "rules_threshold"]

_STRING_ATTRS = {"LOWER", "ORTH", "TEXT", "NORM"}
BREAKS = (".", ";", "!", "?", "。", "！", "？")


@spacy.registry.tokenizers("swarm.shell_tokenizer.v1")
def _shell_tokenizer() -> Callable[[Language], Tokenizer]:
    """English's tokenizer with shell and chat-template punctuation among its affixes, built once with its
    final affixes (setting them one by one on a built tokenizer re-adds its 20,000 special cases each time)."""

    def create(nlp: Language) -> Tokenizer:
        d = nlp.Defaults
        extra = [r"\|", r"<", r">", r"`", r";", r"\[", r"\]", r"\(", r"\)", r"\{", r"\}", r"\$"]
        url_match = d.url_match
        shell = re.compile(r"[|<>`;\[\]{}()$]")
        return Tokenizer(
            nlp.vocab,
            rules=d.tokenizer_exceptions,
            prefix_search=compile_prefix_regex([*d.prefixes, *extra]).search,
            suffix_search=compile_suffix_regex([*d.suffixes, *extra]).search,
            infix_finditer=compile_infix_regex([*d.infixes, *extra]).finditer,
            token_match=d.token_match,
            # a URL must not swallow a pipe or a bracket glued to it ("…/x.sh|bash")
            url_match=None if url_match is None else (lambda text: None if shell.search(text) else url_match(text)),
        )

    return create


def make_nlp() -> Language:
    """spacy.blank("en") whose tokenizer also splits shell and chat-template punctuation."""
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "swarm.shell_tokenizer.v1"}}})
    nlp.max_length = 100_000_000  # tokenizer only (no parser): a long report must not raise; memory is linear
    return nlp


@dataclass(frozen=True)
class Form:
    """One pattern form of a rule, in its own small Matcher so it runs only when it can match."""

    rule: Rule
    weight: float
    matcher: Matcher
    gates: tuple[tuple[frozenset[int], ...], ...]  # per variant: LOWER ids of which one each must occur
    allow_breaks: bool  # the pattern itself spells a sentence break (".", ";")
    text_gates: tuple[re.Pattern[str], ...] = ()  # REGEX token specs, unanchored, searched in the whole text
    # the union of every variant's first gate (None when a variant has no gate): a text with none of these
    # words satisfies no variant, which one set operation tells (most forms, on most texts)
    first_words: frozenset[int] | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.gates and all(self.gates):
            object.__setattr__(self, "first_words", frozenset().union(*(gates[0] for gates in self.gates)))

    def possible(self, tokens: set[int], text: str, searched: dict[re.Pattern[str], bool] | None = None) -> bool:
        """Whether the text's words (`tokens`, LOWER ids) and its text can satisfy a variant; `searched`
        keeps the text gates' results for the next form (several forms of a rule share one gate)."""
        if self.first_words is not None and tokens.isdisjoint(self.first_words):
            return False
        for gates in self.gates:  # (loops, not any/all over generators: this runs for every candidate form)
            for gate in gates:
                if tokens.isdisjoint(gate):
                    break
            else:
                break  # every gate of this variant is met
        else:
            return False
        searched = {} if searched is None else searched
        for gate in self.text_gates:
            found = searched.get(gate)
            if found is None:
                found = searched[gate] = gate.search(text) is not None
            if not found:
                return False
        return True


@dataclass
class Compiled:
    forms: list[Form]
    phrases: PhraseMatcher
    phrase_rules: dict[int, Rule]  # PhraseMatcher key -> rule
    regex: re.Pattern[str] | None
    regex_groups: dict[str, Rule]
    # each regex of `regex` alone: the combined alternation tries every branch at every position, while
    # one regex alone skips ahead to its literal prefix; no match for any of them = no match for `regex`
    regex_parts: tuple[re.Pattern[str], ...] = ()
    # per part, the literals of which every match of it holds one (`prefilter.required_literals`): a part none of
    # whose literals is in the text is not searched
    regex_hints: tuple[Hints, ...] = ()
    ascii_hints: tuple[Hints, ...] = ()  # the same, without the strings an ASCII text cannot hold
    # forms by the words of their first gates (`Form.first_words`), and the forms without one: the forms a
    # text's words can satisfy, found in one pass over its words instead of one set test per form
    by_word: dict[int, tuple[int, ...]] = field(default_factory=dict)
    ungated: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        index: dict[int, list[int]] = {}
        for i, form in enumerate(self.forms):
            for word in form.first_words or ():
                index.setdefault(word, []).append(i)
        self.by_word = {word: tuple(forms) for word, forms in index.items()}
        self.ungated = tuple(i for i, form in enumerate(self.forms) if form.first_words is None)
        if self.regex_parts and not self.regex_hints:
            self.regex_hints = tuple(required_literals(p) for p in self.regex_parts)
        self.ascii_hints = tuple(ascii_only(h) for h in self.regex_hints)

    def candidate_forms(self, tokens: set[int]) -> list[Form]:
        """The forms whose first gate a word of `tokens` passes, or that have none, in rule order."""
        found = set(self.ungated)
        for word in tokens:
            forms = self.by_word.get(word)
            if forms:
                found.update(forms)
        return [self.forms[i] for i in sorted(found)]

    def regex_finditer(self, plain: str) -> Iterator[re.Match[str]]:
        """`regex.finditer(plain)`, started where the first single regex matches (none: no match). The
        alternation matches at a position iff one of its regexes does, and `^`, `\\b` and look-behinds
        read the text before a start position, so the matches are the same."""
        if self.regex is None:
            return iter(())
        if not self.regex_parts:
            return self.regex.finditer(plain)
        ascii = plain.isascii()
        first = min(
            (
                m.start()
                for p, hints in zip(self.regex_parts, self.ascii_hints if ascii else self.regex_hints, strict=True)
                if may_match(hints, plain) and (m := p.search(plain)) is not None
            ),
            default=None,
        )
        return iter(()) if first is None else self.regex.finditer(plain, first)


Tokens = Callable[[str], tuple[str, ...]]


def _tokenizer(nlp: Language) -> Tokens:
    """A value's tokens, as the matcher will see them; one compile's rules repeat their words (6,106
    values, 1,406 distinct in the shipped file), so each is tokenized once per compile."""
    return functools.cache(lambda value: tuple(t.text for t in nlp.make_doc(skeleton(value))))


def _expand_spec(rule_id: str, spec: dict[str, Any], tokens: Tokens) -> list[list[dict[str, Any]]]:
    """One token spec -> its alternatives as token sequences.

    A value that the tokenizer splits ("force-push" -> force, -, push) becomes its own sequence of
    exact tokens, so rules can list hyphenated words and contractions like any other word.
    """
    spec = dict(spec)
    if set(spec) <= {"OP"}:  # a bare wildcard does not reach across a sentence or a line break
        spec = {"IS_SPACE": False, **spec}  # sentence breaks are checked on the match (cheaper)
    if "PREFIX" in spec:
        words = "|".join(re.escape(skeleton(str(w))) for w in spec.pop("PREFIX"))
        spec["LOWER"] = {"REGEX": f"^(?:{words})"}
    multi: list[tuple[str, ...]] = []
    for key in _STRING_ATTRS & spec.keys():
        value = spec[key]
        if isinstance(value, str):
            value = {"IN": [value]}
        if not isinstance(value, dict):
            continue
        single: list[str] = []
        for item in value.get("IN", []):
            toks = tokens(str(item))
            (single if len(toks) == 1 else multi).append(toks[0] if len(toks) == 1 else toks)  # type: ignore[arg-type]
        if "NOT_IN" in value:
            value = {**value, "NOT_IN": [skeleton(str(v)) for v in value["NOT_IN"]]}
        if "IN" in value:
            if not single and not multi:
                raise rule_error(rule_id, f"empty IN list in {spec!r}")
            value = {**value, "IN": single}
        spec[key] = value
    out: list[list[dict[str, Any]]] = []
    if any(isinstance(v, dict) and v.get("IN") for v in spec.values()) or not multi:
        out.append([spec])
    op = spec.get("OP")
    for toks in multi:
        if op not in (None, "?", "1", "!"):
            raise rule_error(rule_id, f"multi-token value {' '.join(toks)!r} cannot take OP {op!r}")
        out.append([{"LOWER": t} for t in toks])
    if op == "?" and multi:
        out.append([])  # the optional token left out
    return out


def _fold_pattern(rule_id: str, pattern: list[Any], tokens: Tokens) -> list[list[dict[str, Any]]]:
    """A rule pattern -> spaCy patterns (more than one when a value spans several tokens)."""
    variants: list[list[dict[str, Any]]] = [[]]
    for spec in pattern:
        if not isinstance(spec, dict):
            raise rule_error(rule_id, f"token spec {spec!r} is not a mapping")
        variants = [v + alt for v in variants for alt in _expand_spec(rule_id, spec, tokens)]
        if len(variants) > 256:
            raise rule_error(rule_id, "too many multi-token alternatives in one pattern; split the rule")
    return [v for v in variants if v]


def _gates(variant: list[dict[str, Any]], nlp: Language) -> tuple[frozenset[int], ...]:
    ids = nlp.vocab.strings
    gates = []
    for spec in variant:
        if spec.get("OP") not in (None, "1", "+"):
            continue
        for key in _STRING_ATTRS & spec.keys():
            value = spec[key]
            if isinstance(value, str):
                gates.append(frozenset([ids.add(value)]))
            elif isinstance(value, dict) and value.get("IN"):
                gates.append(frozenset(ids.add(v) for v in value["IN"]))
    return tuple(gates)


_ANCHOR = re.compile(r"(?<![\\\[])\^|(?<!\\)\$")


def _text_gates(pattern: list[dict[str, Any]]) -> tuple[re.Pattern[str], ...]:
    """Required REGEX token specs, unanchored: if one finds nothing in the text, no token matches it."""
    out = []
    for spec in pattern:
        if spec.get("OP") not in (None, "1", "+"):
            continue
        for key in _STRING_ATTRS & spec.keys():
            value = spec[key]
            if isinstance(value, dict) and isinstance(value.get("REGEX"), str) and "PREFIX" not in spec:
                out.append(re.compile(_ANCHOR.sub("", value["REGEX"])))
    return tuple(out)


def _spells_break(pattern: list[Any]) -> bool:
    for spec in pattern:
        for key in _STRING_ATTRS & spec.keys():
            value = spec[key]
            values = value.get("IN", []) if isinstance(value, dict) else [value]
            if any(str(v) in BREAKS for v in values):
                return True
    return False


def compile_rules(rules: RuleSet, nlp: Language) -> Compiled:
    forms: list[Form] = []
    tokens = _tokenizer(nlp)
    phrases = PhraseMatcher(nlp.vocab)
    phrase_rules: dict[int, Rule] = {}
    groups: list[str] = []
    regex_groups: dict[str, Rule] = {}
    for index, rule in enumerate(rules.rules):
        for number, (weight, pattern) in enumerate(rule.patterns):
            variants = _fold_pattern(rule.id, pattern, tokens)
            matcher = Matcher(nlp.vocab)
            try:
                matcher.add(f"{rule.id}#{number}", variants)
            except ValueError as exc:
                raise rule_error(rule.id, f"invalid pattern {pattern!r}: {exc}") from exc
            gates = tuple(_gates(v, nlp) for v in variants)
            forms.append(Form(rule, weight, matcher, gates, _spells_break(pattern), _text_gates(pattern)))
        if rule.phrases:
            phrases.add(rule.id, [nlp.make_doc(skeleton(p)) for p in rule.phrases])
            phrase_rules[nlp.vocab.strings[rule.id]] = rule
        if rule.regex:
            for r in rule.regex:
                try:
                    re.compile(r)
                except re.error as exc:
                    raise rule_error(rule.id, f"invalid regex {r!r}: {exc}") from exc
            group = f"r{index}"
            groups.append(f"(?P<{group}>{'|'.join(f'(?:{r})' for r in rule.regex)})")
            regex_groups[group] = rule
    combined = re.compile("|".join(groups), re.MULTILINE) if groups else None
    sources = [r for rule in regex_groups.values() for r in rule.regex]
    # a back-reference counts groups of the whole alternation: then only the combined regex is exact
    alone = not any(_BACKREF.search(r) for r in sources)
    parts = tuple(re.compile(r, re.MULTILINE) for r in sources) if alone else ()
    return Compiled(forms, phrases, phrase_rules, combined, regex_groups, parts)


_BACKREF = re.compile(r"\\[1-9]|\(\?P=")
