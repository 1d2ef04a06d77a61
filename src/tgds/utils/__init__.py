"""Small shared helpers: atomic file writes and a uniform view of pandas/polars frames."""

from tgds.utils._frame import FrameView, as_frame
from tgds.utils._io import atomic_write_bytes, atomic_write_text

__all__ = ["FrameView", "as_frame", "atomic_write_bytes", "atomic_write_text"]
