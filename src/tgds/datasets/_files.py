"""Reading data files and the bundled theories."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pandas as pd

from tgds.exceptions import DataError
from tgds.theory import Theory

__all__ = ["bundled_path", "load_theory", "read_table"]

BUNDLED_THEORIES = ("lake", "burgers", "lotka_volterra")


def bundled_path(name: str) -> Path:
    """The path of a bundled file, e.g. ``bundled_path("lotka_volterra.csv")``."""
    folder = Path(str(resources.files("tgds.datasets") / "data"))
    # a bare file name: never a path out of the data folder ('../x', '/etc/passwd')
    path = folder / name if isinstance(name, str) and name and Path(name).name == name else None
    if path is None or not path.is_file():
        available = sorted(p.name for p in folder.iterdir() if p.is_file())
        raise DataError(f"tgds bundles no file {name!r}; bundled files: {', '.join(available)}.")
    return path


def load_theory(name: str) -> Theory:
    """A bundled example theory: ``"lake"``, ``"burgers"`` or ``"lotka_volterra"``.

    Examples
    --------
    >>> load_theory("burgers").targets
    ('u',)
    """
    if name not in BUNDLED_THEORIES:
        raise DataError(
            f"no bundled theory {name!r}; choose one of {', '.join(map(repr, BUNDLED_THEORIES))}."
        )
    return Theory.from_toml(bundled_path(f"{name}.toml"))


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (leading ``#`` comment lines skipped) or Parquet file into a DataFrame.

    A UTF-8 byte order mark before the first line and blank lines among the leading
    comments are skipped too.

    Raises
    ------
    DataError
        If ``path`` is not a file path, the file is missing, a directory, empty, of an
        unknown type, or cannot be parsed.
    """
    path = _data_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(
                path, skiprows=_leading_comments(path), skipinitialspace=True, encoding="utf-8-sig"
            )
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except ImportError as err:
        raise DataError(
            f"reading '{path}' needs an optional package: {err}. Install pyarrow: pip install pyarrow."
        ) from None
    except DataError:
        raise
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as err:
        raise DataError(f"data file '{path}' cannot be read: {err}") from None
    raise DataError(
        f"data file '{path}' has an unknown type {suffix!r}; expected .csv or .parquet."
    )


def _data_file(path: object) -> Path:
    """``path`` as a Path to an existing regular file, or a DataError that says why not."""
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(name, str) or not name:
        got = repr(path) if isinstance(path, str) else type(path).__name__
        raise DataError(
            f"read_table: path must be the path of a data file (a non-empty str or "
            f"os.PathLike); got {got}."
        )
    file = Path(name)
    if file.is_dir():
        raise DataError(f"data file '{file}' is a directory; expected a CSV or Parquet file.")
    if not file.exists():
        raise DataError(f"data file '{file}' does not exist.")
    if not file.is_file():
        raise DataError(
            f"data file '{file}' is not a regular file; expected a CSV or Parquet file."
        )
    return file


def _leading_comments(path: Path) -> int:
    """The number of leading ``#`` comment (and blank) lines before the CSV header."""
    skip = 0
    with path.open(encoding="utf-8-sig") as fh:  # -sig: a byte order mark is no part of line 1
        for line in fh:
            if line.strip() and not line.startswith("#"):
                return skip
            skip += 1
    what = "is empty" if skip == 0 else "holds only '#' comment or blank lines"
    raise DataError(f"data file '{path}' {what}; expected a header line of column names.")
