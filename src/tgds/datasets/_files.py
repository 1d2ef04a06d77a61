"""Reading data files and the bundled theories."""

from __future__ import annotations

import contextlib
import csv
import os
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

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
    comments are skipped too. A CSV file must be comma-separated UTF-8 text whose rows
    all have as many fields as its header has column names, each name used once.

    Raises
    ------
    DataError
        If ``path`` is not a file path, the file is missing, a directory, empty, of an
        unknown type, not UTF-8, ragged, separated by ``;`` or tabs, has duplicate column
        names, or cannot be parsed.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "hares.csv"
    >>> _ = path.write_text("# counts\\nYear, Hare\\n1900, 30.0\\n")
    >>> read_table(path).to_dict("list")
    {'Year': [1900], 'Hare': [30.0]}
    """
    path = _data_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            skip = _check_csv(path)
            return pd.read_csv(path, skiprows=skip, skipinitialspace=True, encoding="utf-8-sig")
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
            _check_unique(list(frame.columns), path)
            return frame
    except ImportError:
        raise DataError(
            f"reading the Parquet file '{path}' needs pyarrow, which is not installed: "
            "pip install 'tgds[parquet]' (or save the data as CSV)."
        ) from None
    except DataError:
        raise
    except UnicodeDecodeError as err:
        raise DataError(
            f"data file '{path}' is not UTF-8 text (it holds the byte "
            f"{err.object[err.start]:#04x}, {err.reason}); save it as UTF-8 (in Excel: 'CSV UTF-8')."
        ) from None
    except (ValueError, pd.errors.ParserError, OSError) as err:
        raise DataError(f"data file '{path}' cannot be read: {err}") from None
    raise DataError(
        f"data file '{path}' has an unknown type {suffix!r}; expected .csv, .txt, .parquet or .pq."
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


def _check_csv(path: Path) -> int:
    """The number of leading comment lines, after checking the header and the row lengths.

    pandas pads a short row with NaN, makes the first column the index when every row
    has one field more than the header (shifting the others), renames a repeated column
    ``a`` to ``a.1`` and reads a ``;``-separated file as one column: each would bind
    wrong values to a theory's variables without a word, so they are errors here.
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:  # -sig: the mark is no part of line 1
        skip = _skip_comments(fh, path)
        # a field over the csv module's 128 KiB limit stops the check: pandas reads it, unchecked
        with contextlib.suppress(csv.Error):
            _check_rows(csv.reader(fh, skipinitialspace=True), path, skip)
    return skip


def _check_rows(rows: Any, path: Path, skip: int) -> None:
    header = next(rows)
    _check_header(header, path, skip + 1)
    line = rows.line_num  # the last line read; a quoted field may span several
    for row in rows:
        if len(row) != len(header) and row not in ([], [""]):  # blank lines are skipped
            raise DataError(
                f"data file '{path}': the row starting on line {skip + line + 1} has "
                f"{_count(len(row), 'field')}; its header has {_count(len(header), 'column')}. "
                "Every row needs one value per column (an empty field for a missing one)."
            )
        line = rows.line_num


def _skip_comments(fh: TextIO, path: Path) -> int:
    """Advance ``fh`` past the leading ``#`` comment and blank lines; return their number."""
    skip = 0
    while True:
        start = fh.tell()
        line = fh.readline()
        if not line:
            break
        if line.strip() and not line.startswith("#"):
            fh.seek(start)
            return skip
        skip += 1
    what = "is empty" if skip == 0 else "holds only '#' comment or blank lines"
    raise DataError(f"data file '{path}' {what}; expected a header line of column names.")


def _check_header(header: list[str], path: Path, line: int) -> None:
    if len(header) == 1:
        for sep in (";", "\t"):
            if sep in header[0]:
                raise DataError(
                    f"data file '{path}' looks separated by {sep!r} (its header, line {line}, "
                    f"is the single column {header[0]!r}); tgds reads comma-separated files: "
                    "save it with ',' between the values."
                )
    _check_unique(header, path)


def _check_unique(names: list[object], path: Path) -> None:
    """No column name twice (empty ones aside: pandas names them 'Unnamed: 3')."""
    counts = Counter(n for n in names if n != "")
    repeated = [n for n, k in counts.items() if k > 1]
    if repeated:
        raise DataError(
            f"data file '{path}' has duplicate column names: "
            f"{', '.join(map(repr, repeated))}; each column needs its own name."
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
