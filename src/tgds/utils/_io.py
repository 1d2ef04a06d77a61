"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename.

A reader never sees a half-written file, and a crash leaves the old file (or none).
The file gets the mode an ordinary ``open(path, "w")`` would give it (the mode of the file
it replaces, else ``0o666`` less the umask), not the private ``0o600`` of
:func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_csv", "atomic_write_text"]


def _default_mode() -> int:
    """``0o666`` less the process umask (read without changing it for other threads)."""
    try:  # Linux: the umask is in /proc without the set-and-restore race of os.umask
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _mode(path: Path) -> int:
    """The mode ``open(path, "w")`` leaves: an existing file keeps its own (a private
    ``0o600`` file stays private), a new one gets :func:`_default_mode`."""
    try:
        st = path.stat()
    except OSError:
        return _default_mode()
    return stat.S_IMODE(st.st_mode) & 0o777 if stat.S_ISREG(st.st_mode) else _default_mode()


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write_bytes(path, b"hello").read_bytes()
    b'hello'
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:  # name the file asked for, not the temporary one
        raise type(err)(err.errno, err.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), _mode(path))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: Path | str, frame: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically, floats with all 17 significant digits
    (read back, they are the same float64 values); return the path."""
    return atomic_write_text(path, frame.to_csv(index=False, float_format="%.17g"))
