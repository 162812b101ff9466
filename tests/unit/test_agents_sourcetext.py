"""One more import in a module's text, and AST positions on its own lines (agents.sourcetext)."""

from __future__ import annotations

import ast

from agents.sourcetext import char_offset, module_of, source_lines, with_import


def test_an_import_goes_after_the_docstring_and_future_imports_and_the_module_still_compiles() -> None:
    text = ('"""Rates.\n\nimport the table once; from there on it is cached.\n"""\n'
            "from __future__ import annotations\n\nimport json\n\nX = json.dumps({})\n")
    new = with_import(text, "copy")
    compile(new, "m.py", "exec")  # a __future__ import after another statement would not compile
    assert new.index("import copy") > new.index("from __future__") and new.index("import copy") < new.index(
        "import json")
    assert "cached.\n" + '"""' in new  # the docstring's own lines untouched


def test_a_name_joins_a_plain_import_line_and_never_a_comment_or_a_continuation() -> None:
    assert with_import("from decimal import Decimal\n", "decimal", "InvalidOperation") == \
        "from decimal import Decimal, InvalidOperation\n"
    commented = with_import("from decimal import Decimal  # money\n", "decimal", "InvalidOperation")
    compile(commented, "m.py", "exec")
    assert "from decimal import InvalidOperation\n" in commented
    continued = with_import("from decimal import Decimal, \\\n    ROUND_HALF_UP\n", "decimal", "InvalidOperation")
    compile(continued, "m.py", "exec")
    assert with_import("from decimal import InvalidOperation\n", "decimal", "InvalidOperation") == \
        "from decimal import InvalidOperation\n"  # already imported


def test_ast_positions_land_on_the_right_characters_past_form_feeds_and_non_ascii() -> None:
    text = 'import re\n\x0c\nS = "caf\u00e9\u2028x"\ndef g(x):\n    found = match(x)\n'
    call = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call))
    lines = source_lines(text)
    start = char_offset(lines, call.lineno, call.col_offset)
    assert text[start:].startswith("match(x)") and len(lines) == 5
    assert module_of("src/shop/rates.py") == "shop.rates" and module_of("shop/__init__.py") == "shop"
