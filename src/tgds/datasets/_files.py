"""Reading data files and the bundled theories."""

from __future__ import annotations

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


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (leading ``#`` comment lines skipped) or Parquet file into a DataFrame.

    Raises
    ------
    DataError
        If the file is missing, of an unknown type, or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file '{path}' does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            with path.open(encoding="utf-8") as fh:
                skip = 0
                for line in fh:
                    if not line.startswith("#"):
                        break
                    skip += 1
            return pd.read_csv(path, skiprows=skip, skipinitialspace=True)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except ImportError as err:
        raise DataError(
            f"reading '{path}' needs an optional package: {err}. Install pyarrow: pip install pyarrow."
        ) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as err:
        raise DataError(f"data file '{path}' cannot be read: {err}") from None
    raise DataError(
        f"data file '{path}' has an unknown type {suffix!r}; expected .csv or .parquet."
    )
