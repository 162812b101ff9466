"""Shared fixtures: one real nats-server per session, one namespace per test, one local Ray.

Servers are started once and awaited by their own readiness signal, never by sleeping. Tests are
isolated by NATS namespace (`ns`), so they can share the server.
"""

from __future__ import annotations

import faulthandler
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from swarm.bus.connect import Bus
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import Settings
from tests.support.timeout_stacks import (
    console_of,
    pytest_runtest_protocol,  # noqa: F401  # a hung test's stacks, on the console
)
from tests.support.xdist_scheduling import pytest_xdist_make_scheduler  # noqa: F401  # a crashed worker fails one test

ROOT = Path(__file__).resolve().parents[1]
# hermetic: agents pick Claude when a key is set; tests that want Claude set it against a loopback server.
# Empty, not unset: the environment wins over a developer's `.env`, and an empty key is never exported
os.environ["ANTHROPIC_API_KEY"] = ""
os.environ.pop("ANTHROPIC_BASE_URL", None)


def pytest_configure(config: pytest.Config) -> None:
    """The repositories the tests fix run their own pytest in this venv, whose test extra brings plugins
    (hypothesis, xdist, asyncio, anyio, timeout) none of them uses: autoloading those costs ~2.5 s of CPU
    per run of a one-test suite against ~0.4 s, and a fix runs such suites dozens of times. So the
    suites started from this process (and from Ray and `swarm` processes it starts) load no plugin
    entry point. Not in an xdist controller: the workers it spawns need their plugins."""
    is_controller = bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")
    if not is_controller:
        os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        _start_watchdog(config)


def _start_watchdog(config: pytest.Config) -> None:
    """A session that outlives SWARM_TEST_WATCHDOG_S (default 50 min) prints every thread's stack to the
    console, once, and goes on. pytest-timeout bounds each test (thread method: a hung test's worker is
    replaced); this names what hangs between tests or at the end, where no test's timer runs, before CI's
    own limit kills the run without a word. The console is the stderr pytest saved before capturing."""
    seconds = float(os.environ.get("SWARM_TEST_WATCHDOG_S", "3000"))
    faulthandler.dump_traceback_later(seconds, repeat=False, file=console_of(config), exit=False)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(store_dir=tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def ns() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(nats_server: EmbeddedNats, ns: str, tmp_path: Path) -> Settings:
    return Settings(
        nats_url=nats_server.url,
        nats_namespace=ns,
        swarm_home=tmp_path / "swarm-home",
        _env_file=None,
    )


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for CLI tests: NATS_URL and NATS_NAMESPACE of this test."""
    env = {"NATS_URL": settings.nats_url or "", "NATS_NAMESPACE": settings.nats_namespace}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
async def bus(settings: Settings) -> AsyncIterator[Bus]:
    """A connection to the session's server, with this test's namespace provisioned."""
    b = await Bus.connect(settings)
    await provision(b.js, b.names, load_streams_config(settings.swarm_streams_config))
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray for the whole session (an actor costs ~200 ms to create: reuse)."""
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_metrics_report_interval_ms", "500")  # metrics reach the endpoint sooner
    # workers must import test agents (tests.support.agents) by dotted path, like the runtime does
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    if not ray.is_initialized():
        ray.init(
            address="local",  # a Ray of its own, also when one from `ray start` runs on this machine
            num_cpus=4,
            include_dashboard=False,
            namespace="swarm-tests",
            logging_level="WARNING",
        )
    yield
    ray.shutdown()
