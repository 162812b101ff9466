"""str where bytes were meant, or bytes where str: `.encode()` / `.decode()` at a value of the crash line.

    for new_line, what in strbytes_variants(line, spans, "TypeError: Strings must be encoded before hashing"):
        ...   # 'hmac.new(key, body.encode(), sha256)' ...

Python 3 keeps text and bytes apart, and a change on one side of a boundary (a serialiser that now returns
str, a socket read that now returns bytes) surfaces where they meet, with a message that says which type
was expected. Each value of the line (a name, an attribute, a call) is converted the way the message
asks, plainly and guarded by `isinstance` (the same line may see both types), and a `.decode()` or
`.encode()` on a value that is already text or bytes is dropped. The tests judge every one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["strbytes_variants", "conversions"]

# the message says a bytes value is wanted where a str came
_WANTS_BYTES = re.compile(
    r"bytes-like object is required, not '?str|must be encoded|encode to bytes|expected bytes|must be bytes"
    r"|not str\b|without an encoding|can't concat str to bytes|bytes pattern on a string|, not 'str'"
)
# the message says a str is wanted where a bytes value came
_WANTS_STR = re.compile(
    r"not \"?bytes\"?|not 'bytes'|bytes found|type bytes is not|string pattern on a bytes|must be str\b"
    r"|can't concat str to bytes|expected str instance, bytes"
)
_DROP = re.compile(r"'(str)' object has no attribute 'decode'|'(bytes)' object has no attribute 'encode'"
                   r"|decoding (str) is not supported")
_CONVERT = re.compile(r"\.(?:en|de)code\(\s*(?:['\"][\w-]+['\"])?\s*(?:,\s*['\"]\w+['\"]\s*)?\)")


def conversions(message: str) -> tuple[str, ...]:
    """What the message asks for, most likely first: "encode", "decode", "drop" (none: not a str/bytes mix)."""
    out: list[str] = []
    if not re.search(r"bytes|encod|decod|hashing", message):
        return ()
    if _DROP.search(message):
        out.append("drop")
    if _WANTS_BYTES.search(message):
        out.append("encode")
    if _WANTS_STR.search(message):
        out.append("decode")
    return tuple(out)


def strbytes_variants(line: str, spans: list[tuple[int, int, str]], message: str) -> Iterator[tuple[str, str]]:
    """`spans`: (start, end, expression) of the values on the line (names, attributes, calls)."""
    for conv in conversions(message):
        if conv == "drop":
            for m in _CONVERT.finditer(line):
                yield line[: m.start()] + line[m.end():], f"drop {m.group().split('(')[0]}()"
            continue
        kind = "str" if conv == "encode" else "bytes"
        for s, e, expr in spans:
            yield line[:s] + f"{expr}.{conv}()" + line[e:], f"{expr} -> {expr}.{conv}()"
            if re.fullmatch(r"[\w.]+", expr):  # a guard evaluates the value twice: names and attributes only
                guarded = f"({expr}.{conv}() if isinstance({expr}, {kind}) else {expr})"
                yield line[:s] + guarded + line[e:], f"{expr} -> {expr}.{conv}() if it is {kind}"
