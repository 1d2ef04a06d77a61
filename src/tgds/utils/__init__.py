"""Small shared helpers: atomic file writes, a safe container format, a view of data frames."""

from tgds.utils._container import (
    dataclass_fields,
    dataclass_from_fields,
    plain_containers,
    read_container,
    read_container_meta,
    restore_containers,
    write_container,
)
from tgds.utils._frame import FrameView, as_frame
from tgds.utils._io import atomic_write_bytes, atomic_write_csv, atomic_write_text
from tgds.utils._pairs import group_codes, monotone_pairs, roundoff
from tgds.utils._toml import toml_key, toml_value

__all__ = [
    "FrameView",
    "as_frame",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_text",
    "dataclass_fields",
    "dataclass_from_fields",
    "group_codes",
    "plain_containers",
    "restore_containers",
    "monotone_pairs",
    "roundoff",
    "toml_key",
    "toml_value",
    "read_container",
    "read_container_meta",
    "write_container",
]
