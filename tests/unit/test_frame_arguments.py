"""A caught exception's report carries the arguments of the application function it left (README, "Reporting
errors from an application": Arguments), which the offline brain calls that function with to reproduce it."""

from __future__ import annotations

import datetime
import decimal
import enum
import importlib.util
import json
import logging
import pathlib
import pickle
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agents.argvalues import REVIVER
from swarm.reporting.frameargs import MAX_ARGS_CHARS, MAX_CALLERS, frame_arguments
from swarm.reporting.reporter import report_from_exception

APP = '''
import json


def line_total(line, *, currency="EUR"):
    return line["qty"] * line["unit_price"] * (1 - line["discount"])


def invoice(payload):
    return sum(line_total(line) for line in payload["lines"])


def login(user, password):
    raise PermissionError(user)


class Cart:
    def total(self, lines):
        return sum(line["price"] for line in lines)


def parse(text):
    return json.loads(text)


def checkout(order, *, coupon=None):
    return pay(order["id"], order["token"]) if coupon else invoice(order)


def pay(order_id, api_token):
    return line_total({"qty": 1})


def ship(order):
    return Cart().total(order["lines"])


def a(n):
    return b(n + 1)


def b(n):
    return c(n + 1)


def c(n):
    return d(n + 1)


def d(n):
    return line_total({"qty": n})
'''


@pytest.fixture
def app(tmp_path: Path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "billing.py").write_text(APP)
    spec = importlib.util.spec_from_file_location("shop_billing_under_test", tmp_path / "shop" / "billing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[spec.name] = module
    yield module
    del sys.modules[spec.name]


def _caught(call):
    try:
        call()
    except Exception:
        return sys.exc_info()
    raise AssertionError("it did not raise")


def test_the_innermost_application_function_s_arguments_are_sent_as_plain_data(app, tmp_path) -> None:
    exc_info = _caught(lambda: app.invoice({"lines": [{"qty": 2, "unit_price": 9.5}]}))
    report = report_from_exception(exc_info, env="production", service="invoicer", root=str(tmp_path))
    extra = report.context.model_extra
    # `currency` was left at its default: not sent (see the test of defaults below)
    assert extra["args"] == [{"qty": 2, "unit_price": 9.5}] and extra["kwargs"] == {}, extra
    assert report.context.function == "line_total" and report.context.file == "shop/billing.py"
    assert json.loads(report.to_bytes())["context"]["args"] == [{"qty": 2, "unit_price": 9.5}]
    # what the application passes itself wins; and it can be switched off
    given = report_from_exception(exc_info, root=str(tmp_path), context={"args": [{"qty": 1}]})
    assert given.context.model_extra["args"] == [{"qty": 1}]
    assert "args" not in report_from_exception(exc_info, root=str(tmp_path), capture_args=False).context.model_extra


def test_no_arguments_when_they_hold_a_secret_a_method_an_object_or_too_much(app, tmp_path) -> None:
    root = str(tmp_path)
    assert frame_arguments(_caught(lambda: app.login("ann", "hunter2"))[2], root) == {}  # a secret's name
    assert frame_arguments(_caught(lambda: app.Cart().total([{}]))[2], root) == {}  # a method
    assert frame_arguments(_caught(lambda: app.line_total({"qty": object(), "unit_price": 1}))[2], root) == {}
    big = {"qty": 1, "unit_price": 1, "note": "x" * MAX_ARGS_CHARS}
    assert frame_arguments(_caught(lambda: app.line_total(big))[2], root) == {}
    # a page of data is not too much: 45 orders, about 3,000 characters (review 18's pagekit sent none at 2,048)
    page = {"qty": 1, "unit_price": 1, "note": [{"order": f"A-{n:05d}", "sku": "BOLT-M6", "qty": n} for n in range(45)]}
    assert frame_arguments(_caught(lambda: app.line_total(page))[2], root)["args"] == [page]
    # the innermost frame is the standard library's (json): the application's function is the one taken
    assert frame_arguments(_caught(lambda: app.parse("{"))[2], root) == {"args": ["{"], "kwargs": {}}
    # outside `root`: nothing of the application is in the traceback
    assert frame_arguments(_caught(lambda: app.parse("{"))[2], str(tmp_path / "elsewhere")) == {}


def test_the_handler_sends_them_with_logging_exception(app, tmp_path, monkeypatch) -> None:
    """`extra={"args": ...}` cannot do it (LogRecord has its own `args`): the handler takes them itself."""
    from swarm.reporting.handler import NatsErrorHandler

    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:1")  # never reached: only the report is built here
    handler = NatsErrorHandler(env="production", service="invoicer", root=str(tmp_path))
    try:
        exc_info = _caught(lambda: app.invoice({"lines": [{"qty": 2, "unit_price": 9.5}]}))
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "invoice failed", None, exc_info)
        report = handler._report(record)
    finally:
        handler.close(timeout=0.1)
    assert report is not None and report.context.model_extra["args"] == [{"qty": 2, "unit_price": 9.5}]


def test_the_callers_arguments_go_along_outermost_first_each_by_the_same_rules(app, tmp_path) -> None:
    """A regression in a caller hands the crashing function a value it never accepted: the offline brain calls the
    caller with its own arguments to find the commit that broke it (`agents.findrepro.caller_repros`)."""
    root, where = str(tmp_path), str(tmp_path / "shop" / "billing.py")
    order = {"lines": [{"qty": 2, "unit_price": 9.5}]}
    got = frame_arguments(_caught(lambda: app.checkout(order))[2], root)
    assert got["args"] == [{"qty": 2, "unit_price": 9.5}]  # the innermost's, as before
    # the generator expression in invoice() is not a module-level function: left out, its caller kept
    assert got["calls"] == [{"file": where, "function": "checkout", "args": [order], "kwargs": {}},
                            {"file": where, "function": "invoice", "args": [order], "kwargs": {}}]
    # a caller whose parameter's name says it holds a secret is left out, the others kept
    paid = frame_arguments(_caught(lambda: app.checkout({"id": 7, "token": "t0k"}, coupon="X"))[2], root)
    assert [c["function"] for c in paid["calls"]] == ["checkout"]  # pay(order_id, api_token) is not sent
    assert paid["args"] == [{"qty": 1}]
    # the innermost is a method (no arguments of its own): its caller's still go
    shipped = frame_arguments(_caught(lambda: app.ship({"lines": [{}]}))[2], root)
    assert "args" not in shipped and shipped["calls"][0]["function"] == "ship"
    # at most MAX_CALLERS callers, the nearest ones
    deep = frame_arguments(_caught(lambda: app.a(1))[2], root)
    assert [c["function"] for c in deep["calls"]] == ["b", "c", "d"][-MAX_CALLERS:] and deep["args"] == [{"qty": 4}]
    report = report_from_exception(_caught(lambda: app.checkout(order)), root=root)
    assert [c["function"] for c in json.loads(report.to_bytes())["context"]["calls"]] == ["checkout", "invoice"]
    # in the report each caller's file is relative, as `context.file` is (reviews 18, 19: the deploy folder leaked)
    assert {c["file"] for c in report.context.model_extra["calls"]} == {"shop/billing.py"} == {report.context.file}


class Colour(enum.Enum):  # a module-level Enum: importable where the repro runs
    RED = "red"


def test_decimals_dates_and_other_value_types_go_as_their_type_and_a_plain_value(app, tmp_path) -> None:
    """One Decimal used to cost the call all its arguments (review 16: `tax_for("de", Decimal(...))` sent none).
    A few value types go as `{"$type": "module:qualname", "$value": plain}`, and the repro's reviver, code that
    needs nothing of swarm, rebuilds them; an object of the application's own class, or a dict shaped like that
    form, still leaves the call without arguments."""
    root = str(tmp_path)
    line = {"qty": decimal.Decimal("2"), "unit_price": decimal.Decimal("9.50"),
            "when": datetime.datetime(2025, 3, 1, 9, 30, tzinfo=datetime.UTC), "ship": datetime.date(2025, 3, 2),
            "after": datetime.timedelta(hours=2), "id": uuid.UUID(int=7), "tags": {"b", "a"}, "colour": Colour.RED,
            "path": pathlib.PurePosixPath("/srv/in.csv")}
    got = frame_arguments(_caught(lambda: app.line_total(line))[2], root)
    sent = got["args"][0]
    assert sent["qty"] == {"$type": "decimal:Decimal", "$value": "2"}
    assert sent["unit_price"] == {"$type": "decimal:Decimal", "$value": "9.50"}
    assert sent["when"] == {"$type": "datetime:datetime", "$value": "2025-03-01T09:30:00+00:00"}
    assert sent["ship"] == {"$type": "datetime:date", "$value": "2025-03-02"}
    assert sent["after"] == {"$type": "datetime:timedelta", "$value": 7200.0}
    assert sent["id"] == {"$type": "uuid:UUID", "$value": str(uuid.UUID(int=7))}
    assert sent["tags"] == {"$type": "builtins:set", "$value": ["a", "b"]}
    assert sent["colour"] == {"$type": f"{__name__}:Colour", "$value": "red"}
    json.dumps(got, allow_nan=False)  # plain JSON on the wire
    code = (f"import importlib, json; {REVIVER}; "
            f"import pickle; print(pickle.dumps(json.loads({json.dumps(sent)!r}, object_hook=_r)).hex())")
    rebuilt = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[2])
    assert pickle.loads(bytes.fromhex(rebuilt.stdout.strip())) == line  # the same values, the same types
    assert frame_arguments(_caught(lambda: app.line_total({"qty": app.Cart(), "unit_price": 1}))[2], root) == {}
    assert frame_arguments(_caught(lambda: app.line_total({"qty": {"$type": "x:y", "$value": 1}}))[2], root) == {}


DEFAULTS_APP = """
DEFAULT_TTL = 900


def quote(zone, kg, express=False, *, rounding=2):
    return price(zone, kg * 2 if express else kg)


def price(zone, kg):
    raise LookupError(zone)


def issue(user, ttl=None):
    ttl = ttl or DEFAULT_TTL
    return sign(user, ttl)


def sign(user, seconds):
    raise ValueError(seconds)


def renew(token):
    token = token.strip()
    raise ValueError(token)
"""


def test_defaults_left_as_they_were_and_rebound_parameters_are_not_sent(tmp_path) -> None:
    """The call as the caller made it, replayable on older commits (review 17): a parameter left at its default
    is not sent (a later commit may have added it: `quote("GB", 1.2, False)` fails where `quote` took two), one
    given another value goes by keyword, and one the body rebinds before the error is not the argument any more:
    left out when it has a default, the whole call dropped when it has none."""
    (tmp_path / "zones.py").write_text(DEFAULTS_APP)
    spec = importlib.util.spec_from_file_location("zones_under_test", tmp_path / "zones.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = str(tmp_path)
    got = frame_arguments(_caught(lambda: module.quote("GB", 1.2))[2], root)
    assert got["calls"][0]["args"] == ["GB", 1.2] and got["calls"][0]["kwargs"] == {}
    assert got["args"] == ["GB", 1.2] and got["kwargs"] == {}
    got = frame_arguments(_caught(lambda: module.quote("GB", 1.2, True, rounding=0))[2], root)
    assert got["calls"][0]["args"] == ["GB", 1.2] and got["calls"][0]["kwargs"] == {"express": True, "rounding": 0}
    got = frame_arguments(_caught(lambda: module.issue("alice"))[2], root)  # ttl rebound to 900 before the error
    assert got["calls"][0]["args"] == ["alice"] and got["calls"][0]["kwargs"] == {}, got
    assert got["args"] == ["alice", 900]  # the innermost's own call: nothing rebound there
    assert frame_arguments(_caught(lambda: module.renew(" t "))[2], root) == {}  # a required one rebound


def _rates(days):
    return [100 / d for d in days]


def test_an_error_inside_a_comprehension_names_the_function_that_holds_it() -> None:
    """Review 24: `context.function` was `<listcomp>`, a frame Python makes for the comprehension, not a function
    of the user's; the file and line stay the raise site's."""
    try:
        _rates([4, 0])
    except ZeroDivisionError:
        report = report_from_exception(sys.exc_info(), service="s", root=str(Path(__file__).parents[2]))
    assert report.context.function == "_rates"
    assert report.context.file == "tests/unit/test_frame_arguments.py"
    assert report.context.line == _rates.__code__.co_firstlineno + 1


CROP_APP = """
LIMITS = {"avatar": 512}


def clamp(lo, hi, value):
    if not lo <= value <= hi:
        raise ValueError(value)
    return value


def crop_box(width, height, size):
    size = min(size, width, height)
    return clamp(size, 0, width)


def avatar(image, cfg):
    return crop_box(image.width, image.height, cfg["sizes"][0])


def thumbs(widths):
    return [crop_box(w, w, 64) for w in widths]


def rescale(width, height, *, size):
    size = size * 2
    return clamp(size, 0, width)
"""


class _Image:
    def __init__(self, width, height):
        self.width, self.height = width, height


class _Counted:
    reads = 0

    @property
    def size(self):
        _Counted.reads += 1
        return 9


def test_a_rebound_parameter_is_sent_as_the_caller_passed_it_when_its_call_expression_reads_plain_values(
        tmp_path) -> None:
    """Review 24 (thumbsize): `crop_box` rebinds `size` before the error, so its call was dropped and the repro
    could only call the innermost `clamp`, whose own code is right. The caller is suspended in that call, so its
    argument expressions (names, constants, an instance's attributes, a dict's or list's items) still read what
    was passed; an expression that could run code (a property, a call, `*args`) leaves the call out as before."""
    (tmp_path / "crop.py").write_text(CROP_APP)
    spec = importlib.util.spec_from_file_location("crop_under_test", tmp_path / "crop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = str(tmp_path)
    width, limits = 640, module.LIMITS
    got = frame_arguments(_caught(lambda: module.crop_box(width, 480, limits["avatar"]))[2], root)
    assert got["args"] == [480, 0, 640]  # clamp's own, with the size min() made
    assert got["calls"] == [{"file": str(tmp_path / "crop.py"), "function": "crop_box", "args": [640, 480, 512],
                             "kwargs": {}}]
    got = frame_arguments(_caught(lambda: module.avatar(_Image(800, 600), {"sizes": [96]}))[2], root)
    assert got["calls"][-1]["function"] == "crop_box" and got["calls"][-1]["args"] == [800, 600, 96], got
    got = frame_arguments(_caught(lambda: module.thumbs([32, 48]))[2], root)  # called inside a comprehension
    assert got["calls"][-1]["args"] == [32, 32, 64], got
    got = frame_arguments(_caught(lambda: module.rescale(100, 50, size=60))[2], root)
    assert got["calls"] == [{"file": str(tmp_path / "crop.py"), "function": "rescale", "args": [100, 50],
                             "kwargs": {"size": 60}}]
    sizes, counted = [640, 480, 9], _Counted()
    for unread in (lambda: module.crop_box(*sizes), lambda: module.crop_box(640, 480, counted.size),
                   lambda: module.crop_box(640, 480, int("9"))):
        got = frame_arguments(_caught(unread)[2], root)
        assert "calls" not in got and got["args"] == [9, 0, 640], got
    assert _Counted.reads == 1  # by the call itself, not again by the report
