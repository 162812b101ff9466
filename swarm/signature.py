"""Error signatures: what makes two occurrences "the same error".

    >>> a = signature("User 4123 not found at 0x7f3a2c", "app/users.py", 42)
    >>> b = signature("User 977 not found at 0x55d0e1", "app/users.py", 42)
    >>> a == b, a == signature("User 1 not found", "app/users.py", 43)
    (True, False)

The signature is sha256 of ``normalise(message):file:line``. It never includes a timestamp.
`normalise` replaces what varies between occurrences of the same error, in this order:

1. UUIDs (8-4-4-4-12 hex)                              -> ``<uuid>``
2. memory addresses ``0x…``                             -> ``<addr>``
3. ISO-8601 dates and times                            -> ``<ts>``
4. hex runs of 8+ characters containing a digit        -> ``<hex>`` (hashes, object/request ids)
5. numbers (integers, decimals, signed) standing alone -> ``<n>``: a digit run that is part of an
   identifier (``field_12``, ``user4123``, ``v2``) is not a number

6. runs of whitespace                                  -> one space; leading/trailing stripped

Words and identifiers are kept, whatever digits they hold, so ``KeyError: 'user_id'`` and
``KeyError: 'email'`` stay distinct, and so do ``KeyError: 'field_12'`` and ``KeyError: 'field_13'``.
A number starts where no letter, digit or underscore precedes it (a digit run inside an identifier
was once cut after its first digit: ``field_12`` became ``field_1<n>``).
"""

from __future__ import annotations

import functools
import hashlib
import re

__all__ = ["normalise", "signature"]

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<addr>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"), "<ts>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"(?<!\w)[-+]?\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise(message: str) -> str:
    """Replace the parts of an error message that vary between occurrences."""
    for pattern, replacement in _RULES:
        message = pattern.sub(replacement, message)
    return message.strip()


@functools.lru_cache(maxsize=4096)  # a storm repeats the same error text: normalise it once
def signature(message: str, file: str | None, line: int | None) -> str:
    """sha256 hex digest of ``normalise(message):file:line``."""
    key = f"{normalise(message)}:{file or ''}:{'' if line is None else int(line)}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
