"""Copied as `sitecustomize.py` onto PYTHONPATH for the one carving run of a test command (`agents.carve`):
every interpreter the command starts installs a global trace function that pickles the arguments of the
first calls of the target functions (SWARM_CARVE_SPEC: targets, output path, calls per function, pickle
size limit) and writes them at exit. Without SWARM_CARVE_SPEC it does nothing. Standalone: no swarm import.
"""

import atexit
import base64
import json
import os
import pickle
import sys
import threading

_SPEC = json.loads(os.environ.get("SWARM_CARVE_SPEC", "{}"))
if _SPEC:
    _TARGETS = {(os.path.realpath(p), f) for p, f in _SPEC["targets"]}
    _OUT, _PER, _MAX = _SPEC["out"], _SPEC["per"], _SPEC["max_pickle"]
    _SEEN, _ROWS, _CODES = {}, [], {}

    def _tracer(frame, event, arg):
        code = frame.f_code
        hit = _CODES.get(code)
        if hit is None:
            hit = _CODES[code] = (os.path.realpath(code.co_filename), code.co_name) in _TARGETS
        if not hit or code.co_flags & 0x04:  # *args: not replayed
            return None
        key = (code.co_filename, code.co_name)
        if _SEEN.get(key, 0) >= _PER:
            return None
        n = code.co_argcount + code.co_kwonlyargcount + (1 if code.co_flags & 0x08 else 0)
        names = list(code.co_varnames[:n])
        try:
            data = pickle.dumps({k: frame.f_locals[k] for k in names})
        except Exception:
            return None
        if len(data) > _MAX:
            return None
        _SEEN[key] = _SEEN.get(key, 0) + 1
        row = {"file": os.path.realpath(code.co_filename), "function": code.co_name,
               "qualname": getattr(code, "co_qualname", code.co_name), "names": names,
               "kwargs": code.co_varnames[n - 1] if code.co_flags & 0x08 else None,
               "pickle": base64.b64encode(data).decode(), "raised": False}
        _ROWS.append(row)
        return _watch(row)

    def _watch(row):
        """A local tracer for one recorded call: whether it ended by raising (a test that expects the raise,
        `pytest.raises`, made it: replayed as it is, it is the tests' own behaviour, not a production failure)."""
        pending = [False]

        def _local(frame, event, arg):
            if event == "exception":
                pending[0] = True
            elif event == "line":
                pending[0] = False  # caught inside the call: it went on
            elif event == "return":
                row["raised"] = pending[0]
                return None
            return _local

        return _local

    def _write():
        sys.settrace(None)
        with open(f"{_OUT}.{os.getpid()}", "w") as fh:
            json.dump(_ROWS, fh)

    atexit.register(_write)
    sys.settrace(_tracer)
    threading.settrace(_tracer)
