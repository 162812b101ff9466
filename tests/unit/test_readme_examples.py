"""Examples the README gives a user to copy: they load as it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from swarm.config import SwarmConfig
from swarm.models import ErrorReport

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_laptop_repositories_block_is_a_valid_configuration() -> None:
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if "/home/me/src/checkout" in b]
    shipped = yaml.safe_load((ROOT / "configs" / "swarm.yaml").read_text())
    cfg = SwarmConfig.model_validate({**shipped, **yaml.safe_load(block)})
    assert cfg.repositories["checkout"].path == "/home/me/src/checkout"
    assert cfg.repositories["checkout"].test_command == "python -m pytest -q"  # the default the comment names
    assert cfg.repositories["ledger"].test_command == "cd backend && python -m pytest -q"


def test_the_hand_written_report_file_is_an_error_report() -> None:
    (example,) = re.findall(r'`(\{"error": "KeyError: \'user_id\'".*?\})`', README)
    report = ErrorReport.model_validate_json(example.replace("<the traceback>", "Traceback ..."))
    assert report.service == "checkout" and report.signature
    assert json.loads(report.model_dump_json())["error"] == "KeyError: 'user_id'"
