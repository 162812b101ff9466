"""Unit-change repairs: renames that only change a unit suffix, and the reads they leave in the old unit."""

from __future__ import annotations

import pytest

from agents.units import unit_candidates, unit_renames


def test_a_rename_that_only_changes_a_unit_suffix_gives_the_factor_between_the_units() -> None:
    scales = unit_renames({
        "timeout": ["timeout_ms"], "delay_s": ["delay_ms"], "price": ["price_cents"], "limit_kib": ["limit_mib"],
        "jobs": ["job"], "pass": ["passes"], "size_kb": ["width_kb"], "wait_s": ["wait_cents"],
    })  # fmt: skip
    assert scales == {
        "timeout_ms": ("ms", "", 1000.0),
        "delay_ms": ("ms", "s", 1000.0),
        "price_cents": ("cents", "", 100.0),
        "limit_mib": ("mib", "kib", 1024.0),
    }  # a plural, another stem, or another dimension is no unit change


@pytest.mark.parametrize(
    ("line", "scaled"),
    [
        (
            '    "timeout": float(env.get("T_MS", D["timeout_ms"])),',
            '    "timeout": float(env.get("T_MS", D["timeout_ms"])) / 1000,',
        ),
        ("    wait = cfg.timeout_ms", "    wait = cfg.timeout_ms / 1000"),
        ("    wait = base + timeout_ms", "    wait = (base + timeout_ms) / 1000"),
    ],
)
def test_a_read_into_a_slot_without_the_unit_is_scaled_both_ways(line: str, scaled: str) -> None:
    text = f"def load(env):\n{line}\n"
    cands = unit_candidates({"s.py": text}, unit_renames({"timeout": ["timeout_ms"]}))
    assert [c.texts["s.py"] for c in cands] == [
        f"def load(env):\n{scaled}\n",
        f"def load(env):\n{scaled.replace(' / ', ' * ')}\n",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "    timeout_ms = cfg.timeout_ms",  # the slot is in the new unit itself
        '    D = {"timeout_ms": 5000}',  # a container is no quantity
        "    wait = cfg.timeout",  # no renamed name read
    ],
)
def test_reads_in_the_new_unit_and_other_lines_are_left_alone(line: str) -> None:
    assert unit_candidates({"s.py": f"def load(env):\n{line}\n"}, unit_renames({"timeout": ["timeout_ms"]})) == []
