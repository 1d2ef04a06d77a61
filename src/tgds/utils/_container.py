"""A safe file format for JAX pytrees with JSON metadata (models and checkpoints).

Layout: a magic line naming the kind of content, an 8-byte big-endian length, that
many bytes of UTF-8 JSON metadata, then the pytree's leaves as written by
``equinox.tree_serialise_leaves`` (NumPy ``.npy`` records; read back with
``allow_pickle=False``). Reading needs a *template* pytree of the same structure, which
the caller rebuilds from the metadata, so nothing in the file can name code to run.
Files are written atomically.
"""

from __future__ import annotations

import dataclasses
import io
import json
import numbers
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tgds.exceptions import DataError
from tgds.utils._io import atomic_write_bytes

__all__ = [
    "write_container",
    "read_container",
    "read_container_meta",
    "dataclass_fields",
    "dataclass_from_fields",
    "plain_containers",
    "restore_containers",
]

_PREFIX = b"TGDS:"


def write_container(path: Path | str, kind: str, meta: dict[str, Any], tree: Any) -> Path:
    """Write ``meta`` and the leaves of ``tree`` to ``path`` atomically."""
    import equinox as eqx  # noqa: PLC0415

    leaves = io.BytesIO()
    eqx.tree_serialise_leaves(leaves, tree)
    header = json.dumps(meta, allow_nan=True, default=_plain).encode("utf-8")
    data = (
        _PREFIX
        + kind.encode("ascii")
        + b"\n"
        + struct.pack(">Q", len(header))
        + header
        + leaves.getvalue()
    )
    return atomic_write_bytes(path, data)


def _plain(value: Any) -> Any:
    """NumPy scalars (``np.int64(16)`` from a grid search) as plain numbers for JSON."""
    import numpy as np  # noqa: PLC0415

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be written to a tgds file: {value!r:.60}")


def _split(path: Path | str, kind: str) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file '{path}' does not exist.")
    data = path.read_bytes()
    magic = _PREFIX + kind.encode("ascii") + b"\n"
    if not data.startswith(magic):
        found = data[:40].split(b"\n")[0]
        raise DataError(f"file '{path}' is not a tgds {kind} file (it starts with {found!r}).")
    start = len(magic)
    if len(data) < start + 8:
        raise DataError(f"file '{path}' is truncated (no metadata length).")
    (n,) = struct.unpack(">Q", data[start : start + 8])
    if len(data) < start + 8 + n:
        raise DataError(f"file '{path}' is truncated (metadata of {n} bytes announced).")
    try:
        meta = json.loads(data[start + 8 : start + 8 + n].decode("utf-8"))
    # ValueError: also a number of more than 4300 digits; RecursionError: [[[[...]]]]
    except (ValueError, RecursionError) as err:
        why = "nested too deeply" if isinstance(err, RecursionError) else str(err)
        raise DataError(f"file '{path}' has corrupt metadata: {why}.") from None
    if not isinstance(meta, dict):
        raise DataError(f"file '{path}' has corrupt metadata: expected a JSON object.")
    return meta, data[start + 8 + n :]


def read_container_meta(path: Path | str, kind: str) -> dict[str, Any]:
    """Only the metadata of a container file."""
    return _split(path, kind)[0]


def read_container(
    path: Path | str, kind: str, template: Callable[[dict[str, Any]], Any]
) -> tuple[dict[str, Any], Any]:
    """Read ``(meta, tree)``; ``template(meta)`` builds a pytree of the stored structure."""
    import equinox as eqx  # noqa: PLC0415

    meta, payload = _split(path, kind)
    like = template(meta)
    stream = io.BytesIO(payload)
    try:
        tree = eqx.tree_deserialise_leaves(stream, like)
    except (ValueError, OSError, EOFError, RuntimeError, TypeError) as err:
        raise DataError(
            f"file '{path}' does not match the structure its metadata describes (it is cut "
            f"short, or was written for another structure): {err}"
        ) from None
    extra = len(payload) - stream.tell()
    if extra:  # appended data, or arrays of a larger structure read only in part
        raise DataError(
            f"file '{path}' holds {extra} bytes after the arrays its metadata describes; "
            "it was damaged or altered."
        )
    return meta, tree


def dataclass_fields(obj: Any) -> dict[str, Any]:
    """``{"kind": class name, **fields}`` of a small dataclass, for JSON metadata (tuples
    become lists); :func:`dataclass_from_fields` reads it back."""
    fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return {
        "kind": type(obj).__name__,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
    }


def dataclass_from_fields(
    kinds: dict[str, type], state: dict[str, Any], what: str, where: str
) -> Any:
    """Rebuild a small frozen dataclass (a repair, a weighting) from its stored fields.

    ``state`` is ``{"kind": class name, **fields}`` as read from a file; ``kinds`` the
    classes allowed. Only their declared fields with plain values (None, str, numbers, or
    lists of them, given back as tuples) are accepted, so a file can only choose among
    known classes and set their documented fields.
    """
    if not isinstance(state, dict):
        raise DataError(
            f"{where}: a {what} is stored as a table of its kind and fields; "
            f"got {type(state).__name__} {state!r:.60}."
        )
    fields = dict(state)
    kind = fields.pop("kind", None)
    if not isinstance(kind, str) or kind not in kinds:
        raise DataError(f"{where} names an unknown {what} {kind!r}; known: {', '.join(kinds)}.")
    known = {f.name for f in dataclasses.fields(kinds[kind])}
    plain = lambda v: v is None or isinstance(v, str | numbers.Real)  # noqa: E731
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        if key not in known or not all(plain(v) for v in values):
            raise DataError(
                f"{where}: {what} {kind} has the fields {sorted(known)} (plain values); "
                f"got {key}={value!r:.60}."
            )
    try:
        return kinds[kind](**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    except TypeError as err:  # a required field missing
        raise DataError(f"{where}: {what} {kind} cannot be rebuilt: {err}.") from None


_CONTAINERS: dict[str, type] = {"tuple": tuple, "list": list, "Path": Path}


def plain_containers(params: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """Make the tuples, lists and paths among ``params[keys]`` JSON values, in place.

    Returns the kind of each container changed (``{"hidden": "tuple"}``), which
    :func:`restore_containers` takes to give the loaded parameters back as they were given:
    ``hidden=(8,)`` and ``hidden=[8]`` are different parameters to ``get_params``.
    """
    kinds = {}
    for key in keys:
        value = params.get(key)
        if isinstance(value, Path):
            kinds[key], params[key] = "Path", str(value)
        elif isinstance(value, tuple | list):
            kinds[key] = "tuple" if isinstance(value, tuple) else "list"
            params[key] = list(value)
    return kinds


def restore_containers(params: dict[str, Any], kinds: dict[str, str], where: str) -> None:
    """Undo :func:`plain_containers` on ``params`` read from a file, in place."""
    if not isinstance(kinds, dict):
        raise DataError(
            f"{where}: param_types must be a table of parameter -> container kind; "
            f"got {type(kinds).__name__} {kinds!r:.60}."
        )
    for key, kind in kinds.items():
        if not isinstance(kind, str) or kind not in _CONTAINERS:
            raise DataError(
                f"{where}: parameter {key!r} is stored as a {kind!r}; expected one of "
                f"{', '.join(_CONTAINERS)}."
            )
        value = params.get(key)
        if value is None:
            continue
        # what plain_containers wrote: a str for a Path, a list for a tuple or a list
        stored, name = ((str, Path), "path") if kind == "Path" else ((list, tuple), "list")
        if not isinstance(value, stored):
            raise DataError(
                f"{where}: parameter {key!r} is stored as a {kind} and must be a {name}; "
                f"got {type(value).__name__} {value!r:.60}."
            )
        params[key] = _CONTAINERS[kind](value)
