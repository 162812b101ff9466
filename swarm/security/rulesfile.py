"""Reading and checking an injection rules file (`configs/injection_rules.yaml`); compiling is swarm.security.rules.

    rules = load_rules()                      # the default file, checked: a RuleSet
    rules = load_rules("my_rules.yaml")       # a ConfigError names the file, the rule and what is wrong
    rules_threshold("0", "--threshold")       # ConfigError: a threshold must be > 0 (and finite)

The file's format (rules, categories, boosts, threshold) is described in swarm.security.rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from swarm.bus.settings import DEFAULT_CONFIG_DIR
from swarm.errors import ConfigError
from swarm.files import read_yaml

__all__ = ["Rule", "RuleSet", "DEFAULT_RULES", "load_rules", "rule_error", "rules_threshold"]

DEFAULT_RULES = DEFAULT_CONFIG_DIR / "injection_rules.yaml"


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    weight: float
    patterns: tuple[tuple[float, list[dict[str, Any]]], ...] = ()
    phrases: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RuleSet:
    threshold: float
    categories: tuple[str, ...]
    rules: tuple[Rule, ...]
    boosts: dict[str, float] = field(default_factory=dict)
    source: str = ""


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 booleans: in a word list, `no`, `on`, `yes` and `off` are words."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """`_Loader` on libyaml's parser when PyYAML has it: the pure-Python parser took ~1.2 s of every filter's
    start-up. A file it refuses is read again by `_Loader`, whose message points at the right place."""


for _cls in (_Loader, _FastLoader):
    _cls.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def rules_threshold(value: Any, where: str) -> float:
    """A rules threshold: a number > 0. The score is a sum of rule weights (each > 0), 0 when nothing
    matched, and a text is rejected when its score reaches the threshold: at 0 or below every text is,
    at infinity none."""
    threshold = _finite(value, f"{where}: threshold")
    if not threshold > 0:
        raise ConfigError(f"{where}: threshold must be > 0, got {threshold:g}: a text is rejected when its "
                          "rules score reaches the threshold, and a text no rule matches scores 0")
    return threshold


def _finite(value: Any, what: str) -> float:
    """`value` as a finite number (YAML's `.nan` and `.inf` read as floats), or a ConfigError naming `what`."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} {value!r} is not a number") from exc
    if not math.isfinite(number):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    return number


def _strings(rule_id: str, raw: dict[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list):  # a bare string would be read one character at a time
        raise rule_error(rule_id, f"`{key}` must be a list, got {type(value).__name__} {str(value)[:40]!r}")
    return tuple(str(v) for v in value)


def rule_error(rule_id: str, what: str) -> ConfigError:
    return ConfigError(f"injection rule {rule_id!r}: {what}")


def _parse_rule(raw: Any, categories: tuple[str, ...], seen: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"injection rule {raw!r}: expected a mapping with id, category, weight")
    rule_id = str(raw.get("id") or "")
    if not rule_id:
        raise ConfigError(f"injection rule without an id: {str(raw)[:80]}")
    if rule_id in seen:
        raise rule_error(rule_id, "duplicate id")
    seen.add(rule_id)
    unknown = set(raw) - {"id", "category", "weight", "patterns", "phrases", "regex", "description"}
    if unknown:
        raise rule_error(rule_id, f"unknown keys {sorted(unknown)}")
    category = raw.get("category")
    if category not in categories:
        raise rule_error(rule_id, f"category {category!r} is not one of {list(categories)}")
    weight = _finite(raw.get("weight", 1.0), f"injection rule {rule_id!r}: weight")
    patterns: list[tuple[float, list[dict[str, Any]]]] = []
    for item in raw.get("patterns") or []:
        if isinstance(item, dict):
            if not isinstance(item.get("pattern"), list):
                raise rule_error(rule_id, "a weighted pattern needs `pattern: [...]`")
            item_weight = _finite(item.get("weight", weight), f"injection rule {rule_id!r}: weight")
            patterns.append((item_weight, item["pattern"]))
        elif isinstance(item, list):
            patterns.append((weight, item))
        else:
            raise rule_error(rule_id, f"pattern {item!r} is not a list of token specs")
    phrases, regexes = _strings(rule_id, raw, "phrases"), _strings(rule_id, raw, "regex")
    if not (patterns or phrases or regexes):
        raise rule_error(rule_id, "needs patterns, phrases or regex")
    if weight <= 0 or any(w <= 0 for w, _ in patterns):
        raise rule_error(rule_id, "weights must be > 0")
    return Rule(rule_id, category, weight, tuple(patterns), phrases, regexes, str(raw.get("description", "")))


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and validate a rules file (default: configs/injection_rules.yaml)."""
    path = Path(path or DEFAULT_RULES)
    try:
        data = read_yaml(path, "injection rules file", _FastLoader) or {}
    except ConfigError:
        data = read_yaml(path, "injection rules file", _Loader) or {}
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"injection rules {path}: expected a mapping with a `rules:` list")
    categories = tuple(data.get("categories") or ())
    seen: set[str] = set()
    try:
        rules = tuple(_parse_rule(r, categories, seen) for r in data["rules"])
    except ConfigError as exc:  # the rule's own message, and the file it is in
        raise ConfigError(f"{path}: {exc}") from None
    raw_boosts = data.get("boosts") or {}
    if not isinstance(raw_boosts, dict):
        raise ConfigError(f"injection rules {path}: `boosts` must be a mapping of category to number")
    boosts = {str(k): _finite(v, f"injection rules {path}: boost of {k!r}") for k, v in raw_boosts.items()}
    threshold = rules_threshold(data.get("threshold", 1.0), f"injection rules {path}")
    return RuleSet(threshold, categories, rules, boosts, str(path))
