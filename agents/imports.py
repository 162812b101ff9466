"""A module's text with one more import, placed the way its author would place it.

    with_import(text, "decimal", "InvalidOperation")   # joins `from decimal import Decimal` when it is there
    with_import(text, "copy")                           # `import copy`, before the first import
"""

from __future__ import annotations

import re

__all__ = ["with_import"]


def with_import(text: str, module: str, name: str | None = None) -> str:
    """`text` importing `name` from `module` (or `module` itself), unless it already does: joined to an existing
    `from module import ...` line, else put before the module's first import."""
    if name is None:
        if re.search(rf"^import {re.escape(module)}\b", text, re.M):
            return text
        statement = f"import {module}\n"
    else:
        if re.search(rf"^(?:{re.escape(name)}\s*=|from\s+\S+\s+import\s+[^\n]*\b{re.escape(name)}\b)", text, re.M):
            return text
        m = re.search(rf"^from\s+{re.escape(module)}\s+import\s+([^\n(]+)$", text, re.M)
        if m:
            return text[: m.end(1)] + f", {name}" + text[m.end(1):]
        statement = f"from {module} import {name}\n"
    first = re.search(r"^(?:from|import)\s", text, re.M)
    at = first.start() if first else 0
    return text[:at] + statement + text[at:]
