"""Headless Chromium (Debian's `chromium`, driven by playwright) for the comms pages.

    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto("http://127.0.0.1:8765/agents")
    shots = await screenshot_pages("http://127.0.0.1:8765", "inv-1", Path(".swarm/demo"))

Playwright's own browser downloads are never used: `CHROMIUM` (default /usr/bin/chromium, from
`apt-get install chromium`) is launched by path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from swarm.errors import ConfigError

__all__ = ["chromium", "chromium_path", "screenshot_pages", "CHROMIUM_ARGS"]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium executable: $CHROMIUM, /usr/bin/chromium, or `chromium` on PATH; None if absent."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextlib.asynccontextmanager
async def chromium(timeout_ms: float = 20_000) -> AsyncIterator[Any]:
    """A headless Chromium browser; ConfigError with the install command when it is missing."""
    path = chromium_path()
    if path is None:
        raise ConfigError("chromium not found: `apt-get install -y chromium` (or set CHROMIUM=/path/to/chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=timeout_ms)
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot_pages(base_url: str, run_id: str | None, out_dir: Path) -> list[str]:
    """Full-page PNGs of /agents, /agents/{run} (when given) and /agents/general; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = [("agents", "/agents"), ("agents-general", "/agents/general")]
    if run_id:
        pages.insert(1, ("agents-run", f"/agents/{quote(run_id, safe='')}"))
    saved = []
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1100, "height": 800})
        for name, path in pages:
            await page.goto(base_url.rstrip("/") + path, wait_until="load")
            if path != "/agents":
                await page.wait_for_selector("#live.on", timeout=10_000)  # the live feed is connected
            target = out_dir / f"{name}.png"
            await page.screenshot(path=str(target), full_page=True)
            saved.append(str(target))
    return saved
