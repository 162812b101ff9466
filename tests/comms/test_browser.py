"""Headless Chromium (Debian's chromium through playwright) on the real pages: a new message appears
live on /agents/{run}; an error message with <script> and an onerror image is shown as text, never run."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarm.bus.connect import Bus
from swarm.bus.settings import Settings
from swarm.comms.browser import chromium, chromium_path, screenshot_pages
from swarm.comms.publisher import CommsPublisher, notice

from .conftest import serve

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"),
]

HOSTILE = (
    "KeyError: 'user_id' <script>window.__pwned = 'script'</script> "
    "<img src=x onerror=\"window.__pwned = 'img'\"> [click](javascript:window.__pwned='link')"
)


async def test_run_page_shows_hostile_text_as_text_and_new_messages_live(
    bus: Bus, settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    says = CommsPublisher(bus, "inv-web", "research-0", outbox_dir=tmp_path)
    await says.say("plan", "1 hypothesis: **the guard** was removed")
    await says.say("finding", HOSTILE)
    await notice(bus, "pool_scaled", "research 1 -> 2", outbox_dir=tmp_path)
    async with serve(settings, pg_url, ingest=True) as base, chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/agents/inv-web")
        await page.wait_for_selector("#live.on", timeout=15_000)
        await page.wait_for_selector("article.f-finding", timeout=15_000)
        text = await page.inner_text("#timeline")
        assert "<script>window.__pwned = 'script'</script>" in text
        assert "<img src=x onerror=" in text
        assert await page.evaluate("window.__pwned === undefined")
        assert await page.locator("#timeline script, #timeline img, #timeline [onerror]").count() == 0
        assert await page.locator("strong", has_text="the guard").count() == 1  # markdown still rendered
        # a message published now appears without a reload, hostile text included, still inert
        await says.say("review", "approve: <script>window.__pwned = 'live'</script> tests pass")
        await page.wait_for_selector("article.f-review", timeout=15_000)
        assert "<script>window.__pwned = 'live'</script>" in await page.inner_text("article.f-review")
        assert await page.evaluate("window.__pwned === undefined")
        shots = await screenshot_pages(base, "inv-web", tmp_path / "shots")
    assert [Path(s).name for s in shots] == ["agents.png", "agents-run.png", "agents-general.png"]
    assert all(Path(s).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for s in shots)
