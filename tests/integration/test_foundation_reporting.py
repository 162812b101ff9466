"""Error reporting through JetStream: signature dedup, `swarm errors report|tail`, trace context."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

from swarm.bus.connect import Bus, open_bus
from swarm.bus.names import HDR_MSG_ID, HDR_TRACEPARENT
from swarm.bus.provision import load_streams_config, provision
from swarm.bus.settings import Settings
from swarm.bus.trace import extract_context
from swarm.cli import app
from swarm.errors import ConfigError, InvalidInput
from swarm.models import ErrorReport
from swarm.reporting.reporter import build_report, publish_report, report_from_exception
from swarm.signature import signature
from tests.support.cli import SWARM

runner = CliRunner()


async def stored(bus: Bus, env: str) -> list[tuple[ErrorReport, dict[str, str]]]:
    """Every report in the env's error stream, read by sequence (no consumer: the stream is a work queue)."""
    stream = bus.names.error_stream(env)
    info = await bus.js.stream_info(stream)
    out: list[tuple[ErrorReport, dict[str, str]]] = []
    if info.state.messages == 0:
        return out
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await bus.js.get_msg(stream, seq)
        out.append((ErrorReport.model_validate_json(msg.data or b""), dict(msg.headers or {})))
    return out


async def test_the_same_error_twice_is_stored_once_another_line_is_another_error(bus: Bus) -> None:
    first = await publish_report(bus, build_report("KeyError: 'user_id'", file="app/api.py", line=42))
    again = await publish_report(
        bus, build_report("KeyError: 'user_id'", file="app/api.py", line=42, context={"request_id": "r-2"})
    )
    other_line = await publish_report(bus, build_report("KeyError: 'user_id'", file="app/api.py", line=43))
    other_again = await publish_report(bus, build_report("KeyError: 'user_id'", file="app/api.py", line=43))

    assert (first.duplicate, again.duplicate, other_line.duplicate, other_again.duplicate) == (False, True, False, True)
    assert again.sequence == first.sequence and other_line.sequence == first.sequence + 1
    assert first.stream == bus.names.error_stream("default")
    sig = signature("KeyError: 'user_id'", "app/api.py", 42)
    assert first.msg_id == f"{bus.names.ns}-default-{sig}" and first.signature == sig

    reports = await stored(bus, "default")
    assert [(r.context.line, h[HDR_MSG_ID]) for r, h in reports] == [(42, first.msg_id), (43, other_line.msg_id)]
    assert reports[0][0].context.request_id is None  # the first occurrence is the one kept


async def test_occurrences_differing_only_by_address_or_id_are_grouped(bus: Bus) -> None:
    a = build_report(
        "Order 3f2a9c1e-1111-2222-3333-444455556666 locked by worker at 0x7f3a2c10",
        env="production",
        file="shop/orders.py",
        line=88,
    )
    b = build_report(
        "Order 9a9a9a9a-0000-4444-8888-cccccccccccc locked by worker at 0x55d0e1ff",
        env="production",
        file="shop/orders.py",
        line=88,
    )
    c = build_report(
        "Order 9a9a9a9a-0000-4444-8888-cccccccccccc unlocked by worker at 0x55d0e1ff",
        env="production",
        file="shop/orders.py",
        line=88,
    )
    assert a.signature == b.signature != c.signature
    outcomes = [await publish_report(bus, r) for r in (a, b, c)]
    assert [o.duplicate for o in outcomes] == [False, True, False]
    assert [r.error for r, _ in await stored(bus, "production")] == [a.error, c.error]


async def test_the_trace_context_published_is_the_one_extracted(bus: Bus) -> None:
    tracer = TracerProvider().get_tracer("test_foundation")
    with tracer.start_as_current_span("report-error") as span:
        published = await publish_report(bus, ErrorReport(error="traced boom", environment="staging"))
    [(_, headers)] = await stored(bus, "staging")
    sent = span.get_span_context()
    assert headers[HDR_TRACEPARENT] == f"00-{sent.trace_id:032x}-{sent.span_id:016x}-{sent.trace_flags:02x}"
    got = trace.get_current_span(extract_context(headers)).get_span_context()
    assert (got.trace_id, got.span_id, got.is_remote) == (sent.trace_id, sent.span_id, True)
    assert headers[HDR_MSG_ID] == published.msg_id


async def test_publishing_into_an_unprovisioned_namespace_says_so(settings: Settings) -> None:
    async with open_bus(settings) as bus:
        with pytest.raises(ConfigError, match=r"no stream takes '.*\.errors'.*swarm streams provision"):
            await publish_report(bus, ErrorReport(error="boom"))


# CLI ---------------------------------------------------------------------------------------
def provisioned(settings: Settings) -> None:
    async def go() -> None:
        async with open_bus(settings) as bus:
            await provision(bus.js, bus.names, load_streams_config(settings.swarm_streams_config))

    asyncio.run(go())


def read_stored(settings: Settings, env: str) -> list[tuple[ErrorReport, dict[str, str]]]:
    async def go() -> list[tuple[ErrorReport, dict[str, str]]]:
        async with open_bus(settings) as bus:
            return await stored(bus, env)

    return asyncio.run(go())


def test_errors_report_prints_stream_sequence_and_duplicate(cli_env: dict[str, str], settings: Settings) -> None:
    provisioned(settings)
    args = [
        "errors",
        "report",
        "--env",
        "staging",
        "--message",
        "ValueError: bad card 4242",
        "--file",
        "pay/card.py",
        "--line",
        "17",
        "--function",
        "charge",
        "--service",
        "payments",
        "--stack",
        "Traceback ...",
        "--context-json",
        '{"request_id": "r-1", "tenant": "acme"}',
        "--json",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert out["stream"] == f"{settings.nats_namespace.upper()}_STAGING_ERRORS"
    assert (out["sequence"], out["duplicate"]) == (1, False)
    sig = signature("ValueError: bad card 4242", "pay/card.py", 17)
    assert out["msg_id"] == f"{settings.nats_namespace}-staging-{sig}"

    again = json.loads(runner.invoke(app, args[:-1] + ["--json"]).stdout)
    assert (again["sequence"], again["duplicate"]) == (1, True)
    human = runner.invoke(app, args[:-1])
    assert human.exit_code == 0 and "duplicate" in human.stdout and "sequence 1" in human.stdout

    from_stdin = runner.invoke(
        app,
        [
            "errors",
            "report",
            "--env",
            "staging",
            "-m",
            "ValueError: bad card 4242",
            "--line",
            "18",
            "--stack",
            "-",
            "--json",
        ],
        input="Traceback (from stdin)\n",
    )
    assert from_stdin.exit_code == 0 and json.loads(from_stdin.stdout)["sequence"] == 2

    (report, headers), (piped, _) = read_stored(settings, "staging")
    assert piped.stack == "Traceback (from stdin)\n" and piped.service == "unknown"
    assert (report.service, report.environment, report.stack) == ("payments", "staging", "Traceback ...")
    assert (report.context.file, report.context.line, report.context.function) == ("pay/card.py", 17, "charge")
    assert report.context.request_id == "r-1" and report.context.model_extra == {"tenant": "acme"}
    assert headers[HDR_MSG_ID] == out["msg_id"]


def test_errors_report_refuses_bad_input_clearly(cli_env: dict[str, str], settings: Settings) -> None:
    provisioned(settings)
    cases = {
        ("--env", "qa"): "unknown environment 'qa': expected one of default, staging, production",
        ("--context-json", "{not json"): "invalid --context-json: not JSON",
        ("--context-json", "[1, 2]"): "invalid --context-json: expected a JSON object, got list",
        ("--context-json", '{"line": -3}'): "invalid input: context.line",
    }
    for extra, message in cases.items():
        result = runner.invoke(app, ["errors", "report", "-m", "boom", *extra])
        assert result.exit_code != 0, extra
        assert message in result.stderr, (extra, result.stderr)
    line = runner.invoke(app, ["errors", "report", "-m", "boom", "--line", "-1"], env={"COLUMNS": "1000"})
    assert line.exit_code == 2 and "Invalid value for '--line'" in line.stderr  # the command line itself
    for given in (["-m", ""], ["--message", "  "]):  # named as the user gave it, not as the wire's `error` field
        empty = runner.invoke(app, ["errors", "report", *given], env={"COLUMNS": "1000"})
        assert empty.exit_code == 2, (given, empty.output)
        assert "Invalid value for '--message' / '-m': the error message is empty" in empty.stderr, empty.stderr
        assert "invalid input: error" not in empty.stderr, empty.stderr
    assert read_stored(settings, "default") == []  # nothing half-published


def test_errors_tail_shows_reports_as_they_arrive_without_consuming(
    cli_env: dict[str, str], settings: Settings
) -> None:
    provisioned(settings)
    env = os.environ | cli_env
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm.cli", "errors", "tail", "--env", "production", "--count", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        ready = proc.stderr.readline()  # printed once the subscription is registered with the server
        assert f"tailing {settings.nats_namespace}.errors.production" in ready, ready + proc.stderr.read()

        async def publish() -> dict[str, Any]:
            async with open_bus(settings) as bus:
                await publish_report(bus, build_report("TimeoutError: upstream", env="production", line=1))
                await publish_report(bus, build_report("OSError: disk full", env="production", line=2))
                await publish_report(bus, build_report("KeyError: 'x'", env="staging", line=3))  # other env
                info = await bus.js.consumer_info(bus.names.error_stream("production"), "error-fixer")
                return {"pending": info.num_pending}

        counts = asyncio.run(publish())
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["report"]["error"] for r in rows] == ["TimeoutError: upstream", "OSError: disk full"]
    assert rows[0]["subject"] == f"{settings.nats_namespace}.errors.production"
    assert rows[0]["msg_id"] == f"{settings.nats_namespace}-production-{rows[0]['signature']}"
    assert counts == {"pending": 2}
    assert len(read_stored(settings, "production")) == 2  # still there for error-fixer




def swarm_cli(
    cli_env: dict[str, str], *args: str | bytes, stdin: bytes = b"", **env: str
) -> subprocess.CompletedProcess[bytes]:
    """The installed `swarm` command in a process of its own: argv and stdin as raw bytes, as a shell gives them."""
    return subprocess.run(
        [SWARM, *args], input=stdin, capture_output=True, env=os.environ | cli_env | env, timeout=60, check=False
    )


def test_errors_report_names_the_field_that_is_not_utf8(cli_env: dict[str, str], settings: Settings) -> None:
    provisioned(settings)
    report = ("errors", "report", "--env", "staging", "--message", "BinStack: y")
    piped = b"Traceback\n\xff\xfe bad\n"
    cases: list[tuple[tuple[str | bytes, ...], bytes, dict[str, str], str]] = [
        # bad bytes kept as surrogates (this locale's stdin), or refused while decoding (a strict one)
        (("--stack", "-"), piped, {}, "stack is not UTF-8 text (byte 0xff"),
        (("--stack", "-"), piped, {"PYTHONIOENCODING": "utf-8:strict"}, "stack is not UTF-8 text (byte 0xff"),
        (("--stack", b"Traceback \xfe"), b"", {}, "stack is not UTF-8 text (byte 0xfe"),
        (("--context-json", b'{"a": "\xff"}'), b"", {}, "context.a is not UTF-8 text (byte 0xff"),
        (("--context-json", b'{"\xff": 1}'), b"", {}, "key context.\\xff is not UTF-8 text (byte 0xff"),
        # valid JSON, yet the escape decodes to a lone surrogate, which no UTF-8 text can hold
        (("--context-json", '{"a": ["ok", "\\ud800"]}'), b"", {},
         "context.a[1] is not UTF-8 text (lone surrogate U+D800 at character 0)"),
    ]
    for extra, stdin, env, reason in cases:
        human = swarm_cli(cli_env, *report, *extra, stdin=stdin, **env)
        assert human.returncode == 1, (extra, human.stderr)
        err = human.stderr.decode()
        assert reason in err and "Traceback (most recent" not in err, (extra, err)
        assert len(err.strip().splitlines()) == 1 and human.stdout == b"", (extra, err)

        scripted = swarm_cli(cli_env, *report, *extra, "--json", stdin=stdin, **env)
        assert scripted.returncode == 1, (extra, scripted.stderr)
        answer = json.loads(scripted.stdout)
        assert reason in answer["error"] and answer["exit_code"] == 1, (extra, answer)
    message = swarm_cli(cli_env, "errors", "report", "--message", b"BinStack: \xff")
    assert message.returncode == 1 and b"--message is not UTF-8 text (byte 0xff at character 10)" in message.stderr
    assert read_stored(settings, "staging") == []  # nothing half-published


async def test_a_report_that_cannot_be_encoded_is_invalid_input(bus: Bus) -> None:
    # built around build_report's check: the publish boundary maps pydantic's error itself
    with pytest.raises(InvalidInput, match=r"cannot be encoded as JSON: .*surrogates not allowed"):
        await publish_report(bus, ErrorReport(error="boom", stack="Traceback \udcff"))
    assert await stored(bus, "default") == []


def test_report_from_exception_escapes_bytes_that_are_not_utf8() -> None:
    try:
        raise OSError("cannot open /srv/caf\udce9")  # a file name the file system gave as bytes
    except OSError as exc:
        report = report_from_exception((OSError, exc, exc.__traceback__), context={"path": "/srv/caf\udce9"})
    assert report.error == "OSError: cannot open /srv/caf\\xe9"
    assert "/srv/caf\\xe9" in report.stack and report.context.model_extra == {"path": "/srv/caf\\xe9"}
    assert ErrorReport.model_validate_json(report.to_bytes()) == report


def test_the_raise_site_s_file_is_the_same_from_any_working_directory(tmp_path) -> None:
    """One service started from two folders (a src layout: PYTHONPATH=src) reports one file and one signature.
    The file was relative to the working directory: `src/shop/rates.py` and `shop/rates.py`, two signatures
    and two investigations of one error. Now it is relative to the import root that holds it, as its module
    name is; a file on no import root stays relative to the working directory."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "src" / "shop" / "__init__.py").write_text("")
    (tmp_path / "src" / "shop" / "rates.py").write_text("def rate(code):\n    return {'EUR': 1.0}[code]\n")
    (tmp_path / "tool.py").write_text("raise KeyError('GBP')\n")
    program = (
        "import json, runpy, sys\n"
        "from swarm.reporting.reporter import report_from_exception\n"
        "try:\n"
        "    if sys.argv[1] == 'module':\n"
        "        from shop.rates import rate\n"
        "        rate('GBP')\n"
        "    else:\n"
        "        runpy.run_path(sys.argv[1])\n"
        "except KeyError:\n"
        "    r = report_from_exception(sys.exc_info(), service='shop')\n"
        "    print(json.dumps([r.context.file, r.signature]))\n"
    )
    root = Path(__file__).resolve().parents[2]

    def reported(cwd: Path, what: str) -> list[str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "src"), str(root)])}
        done = subprocess.run([sys.executable, "-c", program, what], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    from_top, from_src = reported(tmp_path, "module"), reported(tmp_path / "src", "module")
    assert from_top == from_src and from_top[0] == "shop/rates.py", (from_top, from_src)
    assert reported(tmp_path, str(tmp_path / "tool.py"))[0] == "tool.py"  # no import root: the working directory


def test_console_traces_go_to_stderr_and_json_stays_one_document(cli_env: dict[str, str], settings: Settings) -> None:
    provisioned(settings)
    done = swarm_cli(
        cli_env, "errors", "report", "--env", "staging", "--message", "OtelError: console", "--json",
        OTEL_TRACES_EXPORTER="console",
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)  # the whole of stdout is the one answer
    assert answer["sequence"] == 1 and answer["stream"] == f"{settings.nats_namespace.upper()}_STAGING_ERRORS"
    assert b'"trace_id"' in done.stderr and f"publish {settings.nats_namespace}.errors.staging" in done.stderr.decode()

    # a publish that fails inside the trace (no stream for this namespace) answers one document as well
    failed = swarm_cli(
        cli_env | {"NATS_NAMESPACE": f"{settings.nats_namespace}x"}, "errors", "report", "--message", "x", "--json",
        OTEL_TRACES_EXPORTER="console",
    )
    assert failed.returncode == 1 and "no stream takes" in json.loads(failed.stdout)["error"], failed.stderr
    assert b'"trace_id"' in failed.stderr
