"""Every candidate patch for one investigation, gathered from the suspects' own changes and the failing path.

    head, cands = gather(root, repro=repro, suspects=[(sha, parent)], sites=sites, shape=shape,
                         message=message, written=lambda path: blamed_lines(root, path, sha))
    head      # path -> text at HEAD of every file a candidate touches (what `repair` puts back)
    cands     # unordered: `repair` orders them, smallest first, and validates each

Each kind of candidate has its module (`agents.revert` undoes the suspect's tokens, lines and hunks;
`agents.datarevert`, `agents.keydefaults`, `agents.paramdefaults`, `agents.oldraise`, `agents.rescale`,
`agents.units`, `agents.callsites`, `agents.contracts`, `agents.templates`, `agents.transfer`,
`agents.rebased`, `agents.propagate` ...); this module only reads the suspects' diffs once and hands each
what it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agents.accessors import accessor_candidates
from agents.apichange import api_candidates, properties_made_methods
from agents.callsites import call_site_candidates
from agents.contracts import contract_candidates
from agents.datarevert import DATA_SUFFIXES, data_reverts
from agents.keydefaults import dropped_key_defaults, key_default_candidates
from agents.literals import shifted_literal_candidates
from agents.oddvalue import odd_value_candidates
from agents.olddefault import old_default_candidates, replaced_defaults
from agents.oldraise import builtin_error, lookup_raise_candidates, old_raise_candidates, replaced_raises
from agents.oldvalue import old_value_candidates, replaced_values
from agents.paramdefaults import changed_param_defaults, param_default_candidates
from agents.propagate import propagated_candidates
from agents.rebased import rebased_candidates
from agents.repro import ErrorShape, Repro, is_test_file
from agents.rescale import rescale_candidates, returned_scales
from agents.revert import Candidate, partial_reverts
from agents.suspectdiff import git_lines, index_keys_in, key_renames_in, removed_handlers, renames_in
from agents.templates import Site, template_candidates
from agents.transfer import transfer_candidates
from agents.units import unit_candidates, unit_renames

__all__ = ["DATA_ERRORS", "blamed_lines", "gather"]

DATA_ERRORS = frozenset({"ValueError", "KeyError", "IndexError", "TypeError", "AttributeError"})


def blamed_lines(root: Path, path: str, commit: str) -> set[int]:
    """The lines of `path` at HEAD that `commit` last changed (1-based)."""
    out: set[int] = set()
    for line in git_lines(root, "blame", "-l", "-s", "HEAD", "--", path):
        sha, _, rest = line.partition(" ")
        num = rest.strip().split(")", 1)[0].split()[-1] if ")" in rest else rest.split()[0] if rest else ""
        if sha.lstrip("^") == commit and num.isdigit():
            out.add(int(num))
    return out


def gather(root: Path, *, repro: Repro | None, suspects: list[tuple[str, str | None]], sites: list[Site],
           shape: ErrorShape, message: str,
           written: Callable[[str], set[int]]) -> tuple[dict[str, str], list[Candidate]]:
    """(the HEAD text of each file a candidate touches, the candidates)."""
    files: set[str] = {s.path for s in sites}
    for sha, parent in suspects:
        files.update(p for p in git_lines(root, "diff", "--name-only", parent or sha + "^", sha)
                     if p.endswith(".py") and not is_test_file(p) and (root / p).is_file())
    head = {p: (root / p).read_text(errors="replace") for p in sorted(files) if (root / p).is_file()}
    cands: list[Candidate] = []
    renames: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    positions: dict[int, str] = {}
    handlers: list[tuple[str, list[str]]] = []
    defaults: list[tuple[str, str, str]] = []
    key_defaults: list[tuple[str, str]] = []
    param_changes: list[tuple[str, str, str, str, int]] = []
    suspects_files: list[str] = []
    path_lines: dict[str, set[int]] = {}
    for st in sites:
        path_lines.setdefault(st.path, set()).add(st.line)
    for k, (sha, parent) in enumerate(suspects):
        changed = git_lines(root, "diff", "--name-only", parent or sha + "^", sha)
        paths = [p for p in changed if p in head]
        for c in partial_reverts(str(root), sha, parent, paths, head):
            c.rank = k
            cands.append(c)
        suspects_files += [p for p in paths if p not in suspects_files]
        wrote = written if k == 0 else (lambda p, sha=sha: blamed_lines(root, p, sha))
        for c in [*transfer_candidates(root, sha, parent, head, path_lines, wrote),
                  *rebased_candidates(root, sha, parent, head),
                  *propagated_candidates(root, sha, parent, head, sorted(files), wrote)]:
            c.rank = k
            cands.append(c)
        param_changes += changed_param_defaults(root, sha, parent, changed)
        if shape.exc_type == "KeyError":  # a default the suspect dropped for the key: where the mapping is built
            key_defaults += [f for f in dropped_key_defaults(root, sha, parent, message, changed)
                             if f not in key_defaults]
        data = [p for p in changed if p.endswith(DATA_SUFFIXES) and not is_test_file(p) and (root / p).is_file()]
        for p in data:
            head.setdefault(p, (root / p).read_text(errors="replace"))
        for c in data_reverts(str(root), sha, parent, data, head, message):
            c.rank = k
            cands.append(c)
        for old, new in renames_in(root, sha, parent).items():
            renames.setdefault(old, []).extend(n for n in new if n not in renames.get(old, []))
        for i, key in index_keys_in(root, sha, parent).items():
            positions.setdefault(i, key)
        for old, new in key_renames_in(root, sha, parent).items():
            keys.setdefault(old, []).extend(n for n in new if n not in keys.get(old, []))
        handlers += removed_handlers(root, sha, parent)
        for c in shifted_literal_candidates(head, {p: blamed_lines(root, p, sha) for p in paths}):
            c.rank = k
            cands.append(c)
        if builtin_error(shape.exc_type):  # a function that refused with its own exception lets a builtin one out
            crash = [(st.path, st.line, st.function) for st in sites if st.tier == 0]
            for c in lookup_raise_candidates(head, replaced_raises(root, sha, parent, returning_none=False), crash,
                                             shape.exc_type):
                c.rank = k
                cands.append(c)
        if "NoneType" in message:  # a None where the suspect replaced a literal default, a raise, or a value
            defaults += replaced_defaults(root, sha, parent)
            near = [st for st in sites if st.tier <= 1]
            for c in old_value_candidates(head, replaced_values(root, sha, parent), near):
                c.rank = k
                cands.append(c)
            for c in old_raise_candidates(head, replaced_raises(root, sha, parent)):
                c.rank = k
                cands.append(c)
    cands += old_default_candidates(head, defaults)
    cands += key_default_candidates(head, suspects_files, key_defaults)
    cands += param_default_candidates(head, param_changes, written)
    cands += unit_candidates(head, unit_renames({**keys, **renames}))
    if suspects:
        cands += rescale_candidates(head, returned_scales(root, *suspects[0]), sites, written)
    made = set().union(*(properties_made_methods(root, sha, parent, list(head)) for sha, parent in suspects))
    cands += api_candidates(shape, message, sites, head, made)
    cands += accessor_candidates(root, message, sites, head)
    cands += call_site_candidates(root, sites, head, suspects)
    cands += contract_candidates(root, shape, message, sites, head, suspects)
    if repro is not None and shape.exc_type in DATA_ERRORS:  # a typo in data, found from the values on the path
        cands += odd_value_candidates(root, repro, message)
    cands += template_candidates(shape, message, sites, head, renames, handlers=handlers, keys=keys,
                                 positions=positions)
    for cand in cands:  # contract repairs may touch files off the failing path: restored from HEAD too
        for p in cand.texts:
            if p not in head and (root / p).is_file():
                head[p] = (root / p).read_text(errors="replace")
    return head, cands
