"""Repairs where a change of contract between two parts broke the part it did not update.

    cands = contract_candidates(root, shape, message, sites, head, suspects)

Each mechanism reads what changed (the suspect's data, another definition, the returned class, a helper)
and fixes the consumer it missed: a payload read at its old key paths (`agents.datapaths`), an override
still on the old signature (`agents.overrides`), a caller still unpacking a tuple from what is now an
object (`agents.reshaped`), a None handed back by a helper the crashing function calls
(`agents.passthrough`), a subclass whose `__init__` skips the state its base now sets up
(`agents.baseinit`), numbers made a plain `Enum` (`agents.enumbase`),
nested settings merged shallowly (`agents.deepmerge`), a caller still taking the whole return of a function
that now returns a tuple or dict of parts (`agents.parts`), a call still in a reordered parameter list's old
order (`agents.reordered`), a reader left parsing the old format of what its writer now writes in another
(`agents.formats`), a naive time compared with the suspect's now aware one read in the suspect's zone
(`agents.suspecttz`), a caller changing what a function it calls returns, since the suspect cached it, given a
copy (`agents.cached`). Which apply is decided by the
exception and Python's message.
"""

from __future__ import annotations

from pathlib import Path

from agents.baseinit import base_init_candidates
from agents.cached import cached_copy_candidates, newly_cached
from agents.datapaths import data_path_candidates, moved_paths
from agents.deepmerge import deep_merge_candidates
from agents.enumbase import enum_base_candidates
from agents.formats import format_fallback_candidates
from agents.overrides import override_candidates
from agents.parts import Parts, part_candidates, returns_made_parts
from agents.passthrough import null_object_candidates, passthrough_candidates
from agents.reordered import reorder_candidates, reordered_params
from agents.repro import ErrorShape, is_test_file
from agents.reshaped import unpacking_candidates
from agents.revert import Candidate, file_at
from agents.suspectdiff import diff_lines, git_lines
from agents.suspecttz import suspect_zone_candidates
from agents.templates import Site

__all__ = ["contract_candidates"]

# what a value of the wrong shape or in the wrong place raises further on
_LEFT_BEHIND_ERRORS = frozenset({"TypeError", "AttributeError", "KeyError", "IndexError", "ValueError"})


def contract_candidates(root: Path, shape: ErrorShape, message: str, sites: list[Site], head: dict[str, str],
                        suspects: list[tuple[str, str | None]]) -> list[Candidate]:
    cands: list[Candidate] = []
    if shape.exc_type in ("KeyError", "TypeError"):  # a consumer reading a payload at its old key paths
        moves = {k: v for sha, parent in suspects for k, v in moved_paths(root, sha, parent).items()}
        cands += data_path_candidates(sites, head, moves)
    if shape.exc_type == "KeyError":  # settings grouped into nested dicts, still merged shallowly
        cands += deep_merge_candidates(root, message)
    if shape.exc_type == "TypeError":  # an override the suspect's new call contract left behind
        crash = next((s for s in sites if s.tier == 0 and s.path in head), None)
        call_line = head[crash.path].splitlines()[crash.line - 1] if crash and 0 < crash.line <= len(
            head[crash.path].splitlines()) else ""
        cands += override_candidates(root, message, call_line)
        cands += enum_base_candidates(root, message)  # numbers or text made a plain Enum
    if shape.exc_type in ("ValueError", "TypeError"):  # a caller unpacking what is now an object
        cands += unpacking_candidates(root, message, sites, head)
    if shape.exc_type in _LEFT_BEHIND_ERRORS:  # a caller the suspect's new return or parameter order left behind
        parts: dict[str, Parts] = {}
        for sha, parent in suspects:
            paths = [p for p in git_lines(root, "diff", "--name-only", parent or sha + "^", sha)
                     if p.endswith(".py") and not is_test_file(p)]
            parts.update(returns_made_parts(root, sha, parent, paths))
            cands += reorder_candidates(reordered_params(root, sha, parent, paths), sites, head,
                                        lambda path, parent=parent: file_at(str(root), parent, path) or "")
            cands += cached_copy_candidates(newly_cached(root, sha, parent, paths), sites, head)
        cands += part_candidates(parts, sites, head)
    if shape.exc_type == "ValueError" and "does not match format" in message:  # a reader left on the old format
        added = [ln[1:] for sha, parent in suspects for ln in diff_lines(root, sha, parent)
                 if ln.startswith("+") and not ln.startswith("+++")]
        cands += format_fallback_candidates(message, sites, head, added)
    if shape.exc_type == "TypeError":  # a naive time left behind where the suspect made its own aware
        cands += suspect_zone_candidates(root, message, sites, head, suspects)
    if "NoneType" in message:  # a None handed back by a helper the crashing function calls
        cands += passthrough_candidates(root, message, sites)
        cands += null_object_candidates(root, message, sites, head)
    if shape.exc_type == "AttributeError":  # a subclass's __init__ that never runs its base's
        cands += base_init_candidates(root, message)
    return cands
