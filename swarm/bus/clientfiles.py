"""The files and secrets a connection's settings name (TLS CA, certificate and key; NKey seed): each one
read and checked before connecting, so a bad one is a ConfigError naming its variable and file, never a
traceback or "is the server running?".

    opts["tls"] = tls_context(settings.nats_tls_ca, settings.nats_tls_cert, settings.nats_tls_key)
    opts |= nkey_seed_option(settings.nats_nkey_seed)   # {"nkeys_seed": path} or {"nkeys_seed_str": seed}
"""

from __future__ import annotations

import logging
import re
import ssl
from pathlib import Path
from typing import Any

from swarm.errors import ConfigError
from swarm.files import read_user_file

__all__ = ["tls_context", "nkey_seed_option", "nkey_user"]


class _StartTlsEof(logging.Filter):
    """nats-py upgrades a plain connection with `start_tls`, so asyncio's stream protocol does not know it
    runs over TLS and answers the server's close_notify with "keep open"; CPython then logs a harmless
    "returning true from eof_received() has no effect when using ssl" at every close. Dropped here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


_START_TLS_EOF = _StartTlsEof()


def tls_context(ca: Any, cert: Any = None, key: Any = None,
                names: tuple[str, str, str] = ("NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY")) -> ssl.SSLContext:
    """A client TLS context; a file that cannot be read or is not PEM is a ConfigError naming its variable
    (`names`: what the CA, certificate and key are called in messages) and the file."""
    logging.getLogger("asyncio").addFilter(_START_TLS_EOF)  # idempotent: the same filter object
    ca_var, cert_var, key_var = names
    texts = {var: read_user_file(Path(path), f"{var} file") for var, path in
             ((ca_var, ca), (cert_var, cert), (key_var, key)) if path}
    try:
        tls = ssl.create_default_context(cafile=str(ca) if ca else None)
    except ssl.SSLError as exc:
        raise ConfigError(f"{ca_var}={ca} is not a PEM CA certificate ({exc.reason or exc})") from None
    if not cert:
        if key:
            raise ConfigError(f"{key_var}={key} is set without {cert_var}: set both, or neither")
        return tls
    try:
        tls.load_cert_chain(str(cert), str(key) if key else None)
    except ssl.SSLError as exc:
        raise ConfigError(_cert_problem(texts, (cert_var, cert), (key_var, key), exc)) from None
    return tls


def _cert_problem(texts: dict[str, str], cert: tuple[str, Any], key: tuple[str, Any], exc: ssl.SSLError) -> str:
    """Which of the client certificate and its key the server-less check refused, in one line."""
    (cert_var, cert_path), (key_var, key_path) = cert, key
    if "-----BEGIN CERTIFICATE-----" not in texts[cert_var]:
        return f"{cert_var}={cert_path} is not a PEM certificate"
    key_text = texts[key_var] if key_path else texts[cert_var]
    if "PRIVATE KEY-----" not in key_text:
        if not key_path:
            return f"{cert_var}={cert_path} holds no private key: set {key_var} to the certificate's key file"
        return f"{key_var}={key_path} is not a PEM private key"
    return (f"{cert_var}={cert_path} and {key_var}={key_path or cert_path} cannot be used together "
            f"({exc.reason or exc}): is the key the certificate's?")


_SEED_RE = re.compile(r"S[A-Z][A-Z2-7]{40,}")  # an NKey seed: 'S', the key type, base32 (58 characters)


def nkey_seed_option(value: str) -> dict[str, str]:
    """nats.connect's option for NATS_NKEY_SEED: the path of a seed file (`nkeys_seed`) or, when the value is
    a seed itself, the seed (`nkeys_seed_str`). A ConfigError naming the variable when it is neither;
    a seed is never echoed."""
    import nkeys  # only where NKeys are used

    value = value.strip()
    if _SEED_RE.fullmatch(value) and not _exists(value):
        try:
            nkeys.from_seed(bytearray(value.encode())).wipe()
        except (nkeys.NkeysError, ValueError):
            raise ConfigError("NATS_NKEY_SEED is neither a seed file nor a valid NKey seed: set it to the "
                              "path of a file holding the seed, or to the seed itself") from None
        return {"nkeys_seed_str": value}
    shown = "NATS_NKEY_SEED" if value.startswith("S") and value.isalnum() else f"NATS_NKEY_SEED={value}"
    if not _exists(value):
        raise ConfigError(f"{shown}: no such seed file; NATS_NKEY_SEED is the path of a file holding an NKey "
                          "seed (or the seed itself, 'SU' and 56 more characters)")
    text = read_user_file(Path(value), "NATS_NKEY_SEED seed file")
    try:
        nkeys.from_seed(bytearray(text.strip().encode())).wipe()
    except (nkeys.NkeysError, ValueError):
        raise ConfigError(f"NATS_NKEY_SEED seed file {value} holds no NKey seed (expected one line 'SU...', "
                          "as `nk -gen user` writes)") from None
    return {"nkeys_seed": value}


def nkey_user(value: str) -> str:
    """An NKey user for messages: the public key of its seed (never the seed), and the seed file it is in."""
    import nkeys

    value = value.strip()
    in_file = not _SEED_RE.fullmatch(value) or _exists(value)
    try:
        seed = Path(value).read_text(encoding="utf-8").strip() if in_file else value
        public = nkeys.from_seed(bytearray(seed.encode())).public_key.decode()
    except (OSError, UnicodeDecodeError, nkeys.NkeysError, ValueError):
        return f"nkey {value}" if in_file else "nkey (NATS_NKEY_SEED)"
    return f"nkey {public} ({value})" if in_file else f"nkey {public}"


def _exists(value: str) -> bool:
    try:
        return Path(value).exists()
    except (OSError, ValueError):  # a name too long, a NUL: no file of that name
        return False
