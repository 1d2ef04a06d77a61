"""Writing TOML values on one line each (theory files, resolved experiment files).

``tomli_w`` puts every array element on its own line; files meant to be read and edited
by people keep ``bounds = [0.0, 25.2]`` on one line. Written files are read back with
``tomllib`` in the tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["toml_key", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # used with fullmatch: "key\n" is quoted


def toml_key(key: str) -> str:
    """A bare key when it can be one, else a quoted key."""
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A TOML value: bool, int, float (``inf``/``nan`` included), str, list, inline table.

    Examples
    --------
    >>> toml_value({"bounds": [0.0, float("inf")], "name": "x y"})
    '{ bounds = [0.0, inf], name = "x y" }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"cannot write {type(value).__name__} {value!r:.40} to TOML.")
