"""Repairs for an API the suspect changed under its callers (agents/apichange.py), on real git history."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agents.apichange import api_candidates, properties_made_methods
from agents.repro import ErrorShape
from agents.templates import Site


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=d", "-c", "user.email=d@x", "commit", "-qm", message], cwd=repo, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_a_property_made_a_method_is_called_where_a_caller_still_reads_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    prop = (
        "class Order:\n    @property\n    def total(self):\n        return 1\n\n"
        "    @property\n    def count(self):\n        return 2\n"
    )
    parent = _commit(repo, {"order.py": prop}, "order")
    method = prop.replace("    @property\n    def total(self):", "    def total(self, rate=1.0):")
    commit = _commit(repo, {"order.py": method}, "total in another currency")
    made = properties_made_methods(repo, commit, parent, ["order.py"])
    assert made == {"total"}  # `count` stayed a property

    caller = "def charge(order):\n    return order.total + order.count + order.total(rate=2)\n"
    message = "unsupported operand type(s) for +: 'method' and 'int'"
    cands = api_candidates(
        ErrorShape("TypeError", message, "c.py", "charge"),
        message,
        [Site("c.py", 2, "charge", 0)],
        {"c.py": caller},
        made,
    )
    assert [c.texts["c.py"] for c in cands] == [
        "def charge(order):\n    return order.total() + order.count + order.total(rate=2)\n"
    ]
    other = "'>=' not supported between instances of 'str' and 'int'"  # not a method read: no candidate
    assert (
        api_candidates(
            ErrorShape("TypeError", other, "c.py", "charge"),
            other,
            [Site("c.py", 2, "charge", 0)],
            {"c.py": caller},
            made,
        )
        == []
    )


def test_an_exception_that_escaped_the_callers_handler_joins_its_family_or_the_handler_widens() -> None:
    parse = "class ParseError(Exception):\n    pass\n\n\ndef parse_line(line):\n    raise ParseError(line)\n"
    importer = (
        "def import_lines(lines):\n    skipped = 0\n    for line in lines:\n        try:\n"
        "            parse_line(line)\n        except ValueError as exc:\n            skipped += 1\n"
        "    return skipped\n"
    )
    shape = ErrorShape("orders.parse.ParseError", "x", "parse.py", "parse_line")
    sites = [Site("parse.py", 6, "parse_line", 0), Site("importer.py", 5, "import_lines", 1)]
    cands = api_candidates(shape, "ParseError: x", sites, {"parse.py": parse, "importer.py": importer}, set())
    assert [(c.description, c.texts) for c in cands] == [
        (
            "ParseError derives from ValueError (caught at importer.py:6)",
            {"parse.py": parse.replace("ParseError(Exception)", "ParseError(ValueError)")},
        ),
        (
            "except also catches ParseError at importer.py:6",
            {"importer.py": importer.replace("except ValueError as exc:", "except (ValueError, ParseError) as exc:")},
        ),
    ]
    # a builtin error escaping the same handler (an AttributeError from a None upstream) is a bug to fix where
    # the None comes from: the handler is not widened to swallow it
    shape = ErrorShape("AttributeError", "'NoneType' object has no attribute 'parent'", "parse.py", "parse_line")
    message = "AttributeError: 'NoneType' object has no attribute 'parent'"
    assert api_candidates(shape, message, sites, {"parse.py": parse, "importer.py": importer}, set()) == []
