"""Writing TOML values on one line each (theory files, resolved experiment files).

``tomli_w`` puts every array element on its own line; files meant to be read and edited
by people keep ``bounds = [0.0, 25.2]`` on one line. Written files are read back with
``tomllib`` in the tests.
"""

from __future__ import annotations

import json
import re
from numbers import Integral
from typing import Any

import numpy as np

__all__ = ["toml_key", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # used with fullmatch: "key\n" is quoted


def toml_key(key: str) -> str:
    """A bare key when it can be one, else a quoted key."""
    if not isinstance(key, str):
        raise ValueError(f"TOML keys are strings; got {type(key).__name__} {key!r:.40}.")
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A TOML value: bool, int, float (``inf``/``nan`` included), str, list, inline table.

    NumPy booleans, integers and floats are written as the Python values they equal.

    Examples
    --------
    >>> toml_value({"bounds": [0.0, float("inf")], "name": "x y"})
    '{ bounds = [0.0, inf], name = "x y" }'
    """
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, Integral):  # NumPy integers too (a grid search hands them out)
        return str(int(value))
    if isinstance(value, float | np.floating):  # repr(np.float64(0.5)) is 'np.float64(0.5)'
        return repr(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"cannot write {type(value).__name__} {value!r:.40} to TOML.")
