"""The files and secrets the connection variables name (NATS_TLS_*, NATS_NKEY_SEED, NATS_CREDS): a bad one is
one line naming the variable and the file (with `--json`, a JSON error too), never a traceback and never
"is the server running?"; an NKey seed is accepted as a seed file or as the seed itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import nkeys
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from swarm.bus.auth import AuthConfig, generate
from swarm.bus.connect import connect
from swarm.bus.provision import load_streams_config
from swarm.bus.server import EmbeddedNats
from swarm.bus.settings import DEFAULT_CONFIG_DIR, Settings
from swarm.bus.tls import write_tls
from swarm.cli import app
from swarm.errors import ConfigError

runner = CliRunner(env={"COLUMNS": "1000"})


def _refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """The one error line of `streams report --json` under `env` (asserted: exit 1, JSON error, no traceback)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["streams", "report", "--json"])
    for key in env:
        monkeypatch.delenv(key)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit), result.exception
    error = json.loads(result.stdout)["error"]
    assert "is the server running" not in error
    return str(error)


def test_a_tls_file_that_cannot_be_used_is_one_line_naming_its_variable_and_file(
        cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good = write_tls(tmp_path / "tls", ["127.0.0.1"])
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate\n")
    missing = tmp_path / "nope.pem"
    assert _refused(monkeypatch, NATS_TLS_CA=str(missing)) == f"NATS_TLS_CA file not found: {missing}"
    assert _refused(monkeypatch, NATS_TLS_CA=str(tmp_path)) == f"NATS_TLS_CA file {tmp_path} is a directory, not a file"
    assert _refused(monkeypatch, NATS_TLS_CA=str(text)).startswith(f"NATS_TLS_CA={text} is not a PEM CA certificate")
    assert _refused(monkeypatch, NATS_TLS_CERT=str(text)) == f"NATS_TLS_CERT={text} is not a PEM certificate"
    assert _refused(monkeypatch, NATS_TLS_CERT=str(good.cert), NATS_TLS_KEY=str(missing)) == \
        f"NATS_TLS_KEY file not found: {missing}"
    assert _refused(monkeypatch, NATS_TLS_CERT=str(good.cert), NATS_TLS_KEY=str(text)) == \
        f"NATS_TLS_KEY={text} is not a PEM private key"
    assert "holds no private key: set NATS_TLS_KEY" in _refused(monkeypatch, NATS_TLS_CERT=str(good.cert))
    assert "without NATS_TLS_CERT" in _refused(monkeypatch, NATS_TLS_KEY=str(good.key))
    assert _refused(monkeypatch, NATS_CREDS=str(missing)) == f"NATS_CREDS file not found: {missing}"
    # a file that is no .creds file (it was a TypeError from deep in nats-py's handshake, or nothing at all on an
    # open server, which then connected without credentials)
    assert _refused(monkeypatch, NATS_CREDS=str(text)) == (
        f"NATS_CREDS file {text} is not a NATS credentials file: no -----BEGIN NATS USER JWT----- block and no "
        "-----BEGIN USER NKEY SEED----- block (`nsc generate creds` writes one)")


def _client_certificate(ca_dir: Path, out: Path) -> tuple[Path, Path]:
    """A client certificate (extended key usage clientAuth) and its key, signed by the CA `write_tls` keeps in
    `ca_dir` (ca.pem, ca-key.pem)."""
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swarm client")]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "client.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out / "client-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return out / "client.pem", out / "client-key.pem"


def test_a_server_that_verifies_client_certificates_takes_nats_tls_cert_and_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README: NATS_TLS_CERT / NATS_TLS_KEY are the client certificate and its key. Against a nats-server that
    requires and verifies one (`tls { verify: true }`), commands work with them; without one, or with one signed
    by another CA, the refusal is one line saying what to check; a certificate file that is missing names the
    variable and the file."""
    tls = write_tls(tmp_path / "tls", ["127.0.0.1"])
    cert, key = _client_certificate(tmp_path / "tls", tmp_path / "client")
    stranger = write_tls(tmp_path / "other-ca", ["127.0.0.1"])  # a certificate the server's CA never signed
    conf = tmp_path / "nats-server.conf"
    conf.write_text("tls {\n" + "".join(f"  {k}: {json.dumps(str(v))}\n" for k, v in
                                        (("cert_file", tls.cert), ("key_file", tls.key), ("ca_file", tls.ca)))
                    + "  verify: true\n}\n")
    with EmbeddedNats(store_dir=tmp_path / "nats", config_file=conf) as server:
        for name, value in {"NATS_URL": server.url, "NATS_NAMESPACE": "mtls", "NATS_TLS_CA": str(tls.ca),
                            "NATS_TLS_CERT": str(cert), "NATS_TLS_KEY": str(key)}.items():
            monkeypatch.setenv(name, value)
        provisioned = runner.invoke(app, ["streams", "provision", "--json"])
        assert provisioned.exit_code == 0, provisioned.output
        assert json.loads(provisioned.stdout)["summary"].startswith("created "), provisioned.stdout
        reported = runner.invoke(app, ["errors", "report", "--env", "production", "--message", "boom", "--json"])
        assert reported.exit_code == 0, reported.output
        assert json.loads(reported.stdout)["stream"] == "MTLS_PRODUCTION_ERRORS"

        monkeypatch.delenv("NATS_TLS_CERT")
        monkeypatch.delenv("NATS_TLS_KEY")
        plain = runner.invoke(app, ["streams", "report"])  # as a user sees it: one line on stderr
        assert plain.exit_code == 1 and "Traceback" not in plain.output, plain.output
        (line,) = plain.stderr.strip().splitlines()
        # the server's alert (TLSV13_ALERT_CERTIFICATE_REQUIRED), or on a loaded machine the reset that lost it
        assert "client certificate" in line and "set NATS_TLS_CERT and NATS_TLS_KEY" in line, line
        assert "set NATS_TLS_CERT and NATS_TLS_KEY" in _refused(monkeypatch)  # --json: the same, as a JSON error

        wrong = _refused(monkeypatch, NATS_TLS_CERT=str(stranger.cert), NATS_TLS_KEY=str(stranger.key))
        assert f"NATS_TLS_CERT={stranger.cert} signed by the CA the server verifies clients with" in wrong, wrong
        missing = tmp_path / "client" / "gone.pem"
        assert _refused(monkeypatch, NATS_TLS_CERT=str(missing), NATS_TLS_KEY=str(key)) == \
            f"NATS_TLS_CERT file not found: {missing}"


@pytest.mark.parametrize("closed", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")],
                         ids=["broken-pipe", "reset"])
def test_a_tls_connection_the_server_hangs_up_on_is_not_said_to_be_nothing_answering(closed: OSError) -> None:
    """A server that refuses the client's certificate after the client's CONNECT reached it resets the
    connection, and its alert is lost with it (seen under load: nats-py then reports only these): the
    server answered, so the line says what to check, not "is the server running?"."""
    from nats.errors import NoServersError

    from swarm.bus.connect import _refused_connect

    def refused(tls: bool, cert: Path | None = None) -> ConfigError | None:
        return _refused_connect(NoServersError(), "anonymous", "nats://127.0.0.1:4222", [closed, closed], "-",
                                tls=tls, cert=cert)

    without = refused(tls=True)
    assert without is not None and f"closed the connection in the TLS handshake ({type(closed).__name__})" in \
        str(without) and "set NATS_TLS_CERT and NATS_TLS_KEY" in str(without), without
    given = refused(tls=True, cert=Path("/etc/swarm/client.pem"))
    assert given is not None and "NATS_TLS_CERT=/etc/swarm/client.pem signed by the CA" in str(given), given
    assert refused(tls=False) is None  # no TLS: a hang-up says nothing of certificates


def test_an_nkey_seed_that_is_neither_a_file_nor_a_seed_names_the_variable(
        cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    error = _refused(monkeypatch, NATS_NKEY_SEED="SUAbogus")
    assert error.startswith("NATS_NKEY_SEED: no such seed file") and "path of a file" in error
    assert "SUAbogus" not in error  # what looks like a seed is never echoed
    assert _refused(monkeypatch, NATS_NKEY_SEED=str(tmp_path / "user.nk")).startswith(
        f"NATS_NKEY_SEED={tmp_path / 'user.nk'}: no such seed file")
    junk = tmp_path / "junk.nk"
    junk.write_text("hello\n")
    assert _refused(monkeypatch, NATS_NKEY_SEED=str(junk)).startswith(f"NATS_NKEY_SEED seed file {junk} holds no NKey")
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()
    broken = seed[:50]  # cut short
    error = _refused(monkeypatch, NATS_NKEY_SEED=broken)
    assert "nor a valid NKey seed" in error and broken not in error


@pytest.fixture(scope="module")
def nkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedNats, Path]]:
    """A server whose users are the NKeys `swarm nats auth generate` wrote for namespace `nk`."""
    streams = load_streams_config(DEFAULT_CONFIG_DIR / "streams.yaml")
    directory = generate(AuthConfig(namespaces=["nk"]), tmp_path_factory.mktemp("auth"), streams).directory
    with EmbeddedNats(store_dir=tmp_path_factory.mktemp("nats"), config_file=directory / "nats-server.conf") as s:
        yield s, directory


@pytest.mark.parametrize("given", ["file", "seed"])
async def test_an_nkey_seed_is_accepted_as_a_file_or_as_the_seed_itself(nkey_server, given: str) -> None:
    server, directory = nkey_server
    seed_file = directory / "nk" / "operator.nk"
    value = str(seed_file) if given == "file" else seed_file.read_text().strip()
    nc = await connect(Settings(nats_url=server.url, nats_namespace="nk", nats_nkey_seed=value, _env_file=None))
    try:
        assert nc.is_connected
    finally:
        await nc.close()


async def test_a_seed_the_server_does_not_know_is_refused_naming_its_public_key_not_the_seed(nkey_server,
                                                                                            tmp_path: Path) -> None:
    server, _ = nkey_server
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    settings = Settings(nats_url=server.url, nats_namespace="nk", nats_nkey_seed=seed.decode(), _env_file=None)
    with pytest.raises(ConfigError, match=f"user nkey {public}: authorization violation") as caught:
        await connect(settings)
    assert seed.decode() not in str(caught.value)
    # in a seed file too, the public key is named, beside the file (it named the file alone)
    seed_file = tmp_path / "unknown.nk"
    seed_file.write_text(seed.decode() + "\n")
    settings = settings.model_copy(update={"nats_nkey_seed": str(seed_file)})
    with pytest.raises(ConfigError, match=f"user nkey {public} \\({seed_file}\\): authorization violation") as caught:
        await connect(settings)
    assert seed.decode() not in str(caught.value)


def test_a_nats_url_list_whose_first_server_is_down_connects_to_the_next(cli_env, monkeypatch) -> None:
    """README: NATS_URL is "server URL(s), comma separated": a dead first server is passed over."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    urls = f"nats://127.0.0.1:{dead}, {cli_env['NATS_URL']}"
    monkeypatch.setenv("NATS_URL", urls)
    assert runner.invoke(app, ["streams", "provision", "--json"]).exit_code == 0
    result = runner.invoke(app, ["streams", "report", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout), result.output
    # nats-py shuffles the list; in the order given, the dead server is surely tried first
    connected = asyncio.run(_connected_url(Settings(nats_url=urls, _env_file=None)))
    assert connected == cli_env["NATS_URL"].removeprefix("nats://")


async def _connected_url(settings: Settings) -> str:
    nc = await connect(settings, dont_randomize=True)
    try:
        return f"{nc.connected_url.hostname}:{nc.connected_url.port}"
    finally:
        await nc.close()


def test_a_password_in_nats_url_that_the_server_refuses_is_named(tmp_path: Path, monkeypatch) -> None:
    with EmbeddedNats(store_dir=tmp_path / "nats", extra_args=["--user", "alice", "--pass", "right-pw"]) as server:
        monkeypatch.setenv("NATS_NAMESPACE", "authurl")
        error = _refused(monkeypatch, NATS_URL=server.url.replace("nats://", "nats://alice:wrong-pw@"))
    assert "(wrong user, password or token in NATS_URL)" in error and "wrong-pw" not in error, error


@pytest.mark.parametrize(("server_args", "good", "bad", "named"), [
    (["--user", "alice", "--pass", "s3cret-pw"], {"NATS_USER": "alice", "NATS_PASSWORD": "s3cret-pw"},
     {"NATS_USER": "alice", "NATS_PASSWORD": "wrong-pw"}, "user alice: authorization violation (wrong NATS_USER or "
     "NATS_PASSWORD)"),
    (["--auth", "s3cret-token"], {"NATS_TOKEN": "s3cret-token"}, {"NATS_TOKEN": "wrong-token"},
     "user anonymous (NATS_TOKEN): authorization violation (wrong NATS_TOKEN)"),
], ids=["user-password", "token"])
def test_user_password_and_token_authenticate_and_a_wrong_one_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_args: list[str], good: dict[str, str],
    bad: dict[str, str], named: str,
) -> None:
    """README: NATS_USER / NATS_PASSWORD and NATS_TOKEN authenticate; a refused login is one line, no secret."""
    with EmbeddedNats(store_dir=tmp_path / "nats", extra_args=server_args) as server:
        monkeypatch.setenv("NATS_URL", server.url)
        monkeypatch.setenv("NATS_NAMESPACE", "authvars")
        for key, value in good.items():
            monkeypatch.setenv(key, value)
        result = runner.invoke(app, ["streams", "provision", "--json"])
        assert result.exit_code == 0, result.output
        assert runner.invoke(app, ["streams", "report", "--json"]).exit_code == 0
        error = _refused(monkeypatch, **bad)
        assert named in error, error
        assert not any(v in error for v in (*good.values(), *bad.values()) if "s3cret" in v or "wrong" in v), error


def test_tls_asked_of_a_server_without_tls_is_refused_before_anything_is_sent(
        cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """nats-py reads tls:// (and a TLS context) as a wish it drops when the server asks for no TLS: the session's
    plain server was reached over plain text, credentials included. The server's INFO line is read first."""
    url = cli_env["NATS_URL"].replace("nats://", "tls://")
    error = _refused(monkeypatch, NATS_URL=url)
    assert error.startswith(f"NATS_URL={url}: TLS was asked for (a tls:// URL or NATS_TLS_*) but the server offers "
                            "no TLS, so the link would be plain text"), error
    good = write_tls(tmp_path / "tls", ["127.0.0.1"])
    monkeypatch.setenv("NATS_URL", cli_env["NATS_URL"])
    assert "the server offers no TLS" in _refused(monkeypatch, NATS_TLS_CA=str(good.ca))
