"""Other ecosystems' tools' messages (string literals of their source) as hard negatives for the injection model."""

from __future__ import annotations

import collections
import subprocess
from pathlib import Path

from swarm.security.corpora import hash_split
from swarm.security.toolmessages import HELDOUT, SOURCES, _frozen, harvest, messages_in, tool_messages, tool_rows

GO = """package registry

// Login logs in to a registry. Run "helm registry login --help" for flags.
func Login(host string) error {
	if host == "" {
		return errors.New("registry host is required, run 'helm registry login HOST'")
	}
	log.Printf("Pulling %s from %s with credentials", ref, host)
	return fmt.Errorf("failed to log in to %q: %w", host, err)
}
var re = regexp.MustCompile("^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
const usage = "docker login [OPTIONS] [SERVER]"
var short = "ok"
"""

RUBY = """raise GemNotFound, "Could not find gem '#{name}' in locally installed gems. Run `bundle install` first."
Bundler.ui.warn 'Your lockfile is unreadable. Run `rm Gemfile.lock` and then `bundle install`.'
path = File.join(root, "lib/bundler/templates")
"""


def test_messages_are_the_prose_literals_of_a_file_with_placeholders_filled() -> None:
    got = messages_in(GO, ".go")
    assert "registry host is required, run 'helm registry login HOST'" in got
    pulling = [m for m in got if m.startswith("Pulling ")]
    assert len(pulling) == 1 and "%s" not in pulling[0] and pulling[0].endswith("with credentials")
    assert any(m.startswith("failed to log in to ") and "%" not in m for m in got)
    # a regex, a usage line with brackets kept only when it reads as prose, a two-word label: not messages
    assert not any(m.startswith("^") or m == "ok" for m in got)


def test_single_quoted_literals_count_only_where_the_language_makes_them_strings() -> None:
    ruby = messages_in(RUBY, ".rb")
    assert any(m.startswith("Could not find gem ") and "#{" not in m for m in ruby)
    assert any(m.startswith("Your lockfile is unreadable.") for m in ruby)
    assert not any("lib/bundler" in m for m in ruby)  # a path is not a message
    go = messages_in("x := 'Your lockfile is unreadable, run the fix'", ".go")  # a rune literal in Go: never
    assert go == []


def _repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "tool"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "login.go").write_text(GO)
    (repo / "pkg" / "login_test.go").write_text('t.Fatal("this message is in a test file and never harvested")')
    (repo / "testdata").mkdir()
    (repo / "testdata" / "x.go").write_text('f("fixture text that must never be harvested here")')
    run = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*run, "add", "-A"], check=True)
    subprocess.run([*run, "commit", "-qm", "tool"], check=True)
    commit = subprocess.run([*run, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    (repo / "pkg" / "later.go").write_text('e("a message committed after the pinned commit is not read")')
    return repo, commit


def test_harvest_reads_the_pinned_commit_of_a_git_clone_and_skips_tests(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path)
    rows = harvest({"tool": repo}, {"tool": ("example/tool", commit, "MIT", ".go")})
    texts = [t for _, _, t in rows]
    assert "registry host is required, run 'helm registry login HOST'" in texts
    assert not any("test file" in t or "fixture" in t or "after the pinned" in t for t in texts)
    assert all(source == "tool" and split == hash_split(text) for split, source, text in rows)
    heldout = harvest({"helm": repo}, {"helm": ("example/tool", commit, "MIT", ".go")})
    assert {split for split, _, _ in heldout} == {"test"}  # a held-out source goes to the test split whole


def test_the_frozen_harvest_has_every_source_and_disjoint_splits() -> None:
    rows = _frozen()
    per_source = collections.Counter(source for _, source, _ in rows)
    assert set(per_source) == set(SOURCES) and min(per_source.values()) >= 500
    assert all(lic in ("MIT", "Apache-2.0", "MIT OR Apache-2.0") for _, commit, lic, _ in SOURCES.values())
    assert all(len(commit) == 40 for _, commit, _, _ in SOURCES.values())
    assert all(split == "test" for split, source, _ in rows if source in HELDOUT)
    assert all(split == hash_split(t) for split, source, t in rows if source not in HELDOUT)
    splits = {s: set(tool_messages(s)) for s in ("train", "validation", "test")}
    assert not (splits["train"] & splits["validation"] or splits["train"] & splits["test"])
    assert set(tool_messages("test", "composer")) <= splits["test"] and tool_messages("train", "composer") == []
    assert tool_messages("heldout") == tool_messages("test")


def test_tool_rows_are_benign_deterministic_and_carry_their_message() -> None:
    rows = tool_rows("validation", seed=3)
    assert rows == tool_rows("validation", seed=3) and rows != tool_rows("validation", seed=4)
    assert all(s.label == "benign" and s.category == "tool_message" for s in rows)
    messages = tool_messages("validation")
    assert len(rows) == len(messages) > 1000
    carried = sum(m in r.text or m.replace('"', '\\"') in r.text for m, r in zip(messages, rows, strict=True))
    assert carried >= 0.9 * len(rows)


def test_the_shipped_filter_passes_held_out_tools_messages() -> None:
    """helm's and composer's messages were never trained or calibrated on; the model before tools' messages
    were trained on rejected 3.1 % of them bare (67 of 2,175) and 1.4 % of the shaped test rows (the shipped
    one: 2.3 % and 0.7 %; BIPIA's "put this snippet in your code" attacks cost 1.5 points of the bare rate)."""
    from swarm.security.injection import InjectionFilter

    check = InjectionFilter().check_text
    bare = [m for source in HELDOUT for m in tool_messages("test", source)]
    assert len(bare) > 2000
    assert sum(check(m).rejected for m in bare) <= 0.025 * len(bare)
    rows = tool_rows("test")
    assert sum(check(r.text).rejected for r in rows) <= 0.01 * len(rows)
