"""The files a connection's settings name (TLS CA, certificate and key): each one read and checked before
connecting, so a bad one is a ConfigError naming its variable and file, never a traceback.

    opts["tls"] = tls_context(settings.nats_tls_ca, settings.nats_tls_cert, settings.nats_tls_key)
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

from swarm.errors import ConfigError
from swarm.files import read_user_file

__all__ = ["tls_context"]


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
