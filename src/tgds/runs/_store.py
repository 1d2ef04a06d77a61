"""The run store: one folder per run, indexed in an embedded SQLite database.

Files are written atomically; the index uses SQLite's write-ahead log and a busy
timeout, so several runs started at once all land in it. A run whose process died
while running (``kill -9``, power loss) keeps ``state = "running"`` in its folder and is
reported as ``incomplete`` because its process no longer exists. ``status.json`` records
the host, the pid and (where ``/proc`` tells it) the start time of the running process,
so a pid reused by another process does not keep the run "running"; a run marked
running on another host cannot be checked from here and is taken as running.

The JSON and TOML files of a run folder are read with :func:`read_run_json` and
:func:`read_run_toml`: a damaged file is a :class:`RunError` naming it.

A run folder may come from elsewhere (an archive, a shared disk), so what is written into
it never follows a symbolic link out of it: files are replaced atomically (a link is
replaced, not followed), ``log.txt`` and ``.lock`` are opened with ``O_NOFOLLOW``, and a
unit folder (or ``units``) that is a link is refused.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sqlite3
import time
import tomllib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tgds.exceptions import TgdsError
from tgds.utils import atomic_write_text

__all__ = [
    "RunFolder",
    "RunIndex",
    "RunError",
    "read_run_csv",
    "read_run_json",
    "read_run_toml",
    "read_summary",
]


class RunError(TgdsError, ValueError):
    """A run or the run store cannot be used as asked."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot: field 22 of ``/proc/<pid>/stat``);
    ``None`` where ``/proc`` does not tell (macOS, Windows, a hidden or ended process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])  # after the command name: fields 3...
    except (OSError, IndexError, ValueError):
        return None


def _holder(status: dict[str, Any]) -> tuple[int, str] | None:
    """``(pid, host)`` of the process that ``status`` says runs the run, unless it is known
    to have ended: on this host, a pid that names no process, or that names a process started
    at another time than the one recorded (a reused pid). A run marked running on another host
    is taken as running. Old folders without ``host`` or ``pid_start`` count as this host's,
    checked by pid alone."""
    if status.get("state") != "running":
        return None
    here = socket.gethostname()
    host = str(status.get("host") or here)
    try:
        pid = int(status.get("pid") or 0)
    except (TypeError, ValueError):
        pid = 0
    if host != here:
        return pid, host
    if pid <= 0 or not _alive(pid):
        return None
    recorded, actual = status.get("pid_start"), _start_time(pid)
    if recorded is not None and actual is not None and recorded != actual:
        return None
    return pid, host


def _text(file: Path) -> str:
    """The UTF-8 text of a run file; FileNotFoundError is left to the caller."""
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except UnicodeDecodeError as err:
        raise RunError(
            f"run file '{file}' is corrupt: expected UTF-8 text, found the byte "
            f"{err.object[err.start : err.start + 1]!r} at byte {err.start}."
        ) from None
    except OSError as err:
        raise RunError(f"run file '{file}' cannot be read: {err.strerror or err}.") from None


def _corrupt(
    file: Path, expected: str, text: str, problem: str, line: int, column: int
) -> RunError:
    """The error for a file that does not parse, quoting what it holds at ``line``, ``column``."""
    lines = text.splitlines()
    rest = "\n".join([lines[line - 1][column - 1 :], *lines[line:]]) if line <= len(lines) else ""
    if not text.strip():
        found = "an empty file"
    elif not rest.strip():
        found = "the end of the file"
    else:
        quote = rest.split("\n", 1)[0].strip()
        found = f"{quote[:40]!r}" if quote else "the end of the line"
        found += f" at line {line}, column {column}"
    return RunError(
        f"run file '{file}' is corrupt: expected {expected}, found {found} ({problem})."
    )


_JSON_KINDS = {dict: "a JSON object", list: "a JSON array", str: "a string", bool: "true/false",
               int: "a number", float: "a number", type(None): "null"}  # fmt: skip


def read_run_json(file: Path, expected: type | None = None) -> Any:
    """The JSON value of a run folder's file.

    Parameters
    ----------
    file : Path
        The file (``status.json``, ``data_card.json``, a unit's ``metrics.json``...).
    expected : type, optional
        ``dict`` or ``list``: the file must hold a JSON object or a JSON array.

    Returns
    -------
    Any
        The parsed value.

    Raises
    ------
    FileNotFoundError
        When the file does not exist (the caller says what that means).
    RunError
        When the file cannot be read, is not JSON or does not hold ``expected``; the
        message names the file, what was expected and what was found.
    """
    text = _text(file)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise _corrupt(file, "JSON", text, err.msg, err.lineno, err.colno) from None
    except (ValueError, RecursionError) as err:  # a number of 4300+ digits; [[[[...]]]]
        raise _unreadable(file, "JSON", err) from None
    if expected is not None and not isinstance(value, expected):
        raise RunError(
            f"run file '{file}' is corrupt: expected {_JSON_KINDS[expected]}, "
            f"found {_JSON_KINDS.get(type(value), type(value).__name__)}."
        )
    return value


def read_run_toml(file: Path) -> dict[str, Any]:
    """The TOML table of a run folder's file (``experiment.toml``).

    Parameters
    ----------
    file : Path

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    RunError
        When the file cannot be read or is not TOML; the message names the file, what
        was expected and what was found.
    """
    text = _text(file)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # the position is in the message: "Invalid value (at line 1, column 5)"
        match = re.search(r"\(at line (\d+), column (\d+)\)$", str(err))
        problem = re.sub(r" \(at [^()]*\)$", "", str(err))
        line, column = (int(match[1]), int(match[2])) if match else (len(text.splitlines()) + 1, 1)
        raise _corrupt(file, "TOML", text, problem, line, column) from None
    except (ValueError, RecursionError) as err:  # a number of 4300+ digits; [[[[...]]]]
        raise _unreadable(file, "TOML", err) from None


def _unreadable(file: Path, expected: str, err: Exception) -> RunError:
    why = "values nested too deeply" if isinstance(err, RecursionError) else str(err)
    return RunError(f"run file '{file}' is corrupt: expected {expected}, found {why}.")


def _open_no_follow(file: Path) -> int:
    """A descriptor of ``file`` opened for appending (created if absent), refusing a
    symbolic link: a run folder from elsewhere could link ``log.txt`` to ``~/.bashrc``."""
    if file.is_symlink():
        raise RunError(f"run file '{file}' is a symbolic link; not writing through it.")
    # O_NOFOLLOW: also when a link appears after the check (not on Windows)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    return os.open(file, flags, 0o666)


@dataclass(frozen=True)
class RunFolder:
    """A run's folder: atomic JSON/text writes, status, units of work."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    def write_json(self, name: str, obj: Any) -> Path:
        return atomic_write_text(
            self.path / name, json.dumps(obj, indent=1, default=_json_default, allow_nan=True)
        )

    def read_json(self, name: str, expected: type | None = None) -> Any:
        """The JSON value of the folder's file ``name`` (see :func:`read_run_json`)."""
        try:
            return read_run_json(self.path / name, expected)
        except FileNotFoundError:
            raise RunError(
                f"run '{self.path}' has no {name}: it is not a tgds run folder, or it is damaged."
            ) from None

    def status(self) -> dict[str, Any]:
        status = self.read_json("status.json", dict)
        if status.get("state") == "running" and _holder(status) is None:
            status["state"] = "incomplete"
        return status

    def set_status(self, state: str, **extra: Any) -> None:
        exists = (self.path / "status.json").exists()
        status = self.read_json("status.json", dict) if exists else {}
        if state == "running":  # a resumed run: what an earlier attempt ended with is stale
            for key in ("error", "finished"):
                status.pop(key, None)
        pid = os.getpid()
        here = {"pid": pid, "host": socket.gethostname(), "pid_start": _start_time(pid)}
        status.update({"state": state, **here, **extra})
        if state in ("complete", "failed"):
            status["finished"] = _now()
        self.write_json("status.json", status)

    def summary(self, purpose: str = "to compare") -> pd.DataFrame:
        """The run's ``summary.csv`` (see :func:`read_summary`); a :class:`RunError` naming the
        run's state when it has none (a failed, incomplete or running run), ``purpose`` saying
        what it was wanted for."""
        file = self.path / "summary.csv"
        try:
            return read_summary(file)
        except FileNotFoundError:
            pass
        state = self.status()["state"]
        why = {
            "failed": f"it failed: `tgds runs show {self.id}` prints its error, and "
            f"`tgds run --resume {self.id}` continues it",
            "incomplete": "its process ended before every model was scored: "
            f"`tgds run --resume {self.id}` continues it",
            "running": "it is still running: wait for it to end",
        }.get(state, "the file is missing from the run folder: run the experiment again")
        raise RunError(
            f"run {self.id} has no summary.csv {purpose}: its state is {state!r}, and a run "
            f"writes summary.csv once every model has been scored on every fold; {why}."
        )

    def running_elsewhere(self) -> tuple[int, str] | None:
        """``(pid, host)`` of another process that is running this run, if any: a live
        process on this host (the recorded one, not a reuse of its pid), or any process on
        another host (which cannot be checked from here)."""
        holder = _holder(self.read_json("status.json", dict))
        return None if holder in (None, (os.getpid(), socket.gethostname())) else holder

    def unit(self, model: str, fold: int) -> Path:
        name = f"{model}__fold{fold}"
        if Path(name).name != name or name.startswith("."):
            raise RunError(f"model name {model!r} cannot name a unit folder.")
        units = self.path / "units"
        path = units / name
        for part in (units, path):  # written into: never a link out of the run folder
            if part.is_symlink():
                raise RunError(f"run folder '{part}' is a symbolic link; not writing through it.")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, message: str) -> None:
        with os.fdopen(_open_no_follow(self.path / "log.txt"), "a", encoding="utf-8") as fh:
            fh.write(f"{_now()} {message}\n")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for this process: a second process (e.g. two ``--resume`` at
        once) gets a RunError instead of training the same units. Advisory, POSIX only."""
        try:
            import fcntl  # noqa: PLC0415
        except ImportError:  # Windows: the pid check of status.json is all there is
            yield
            return
        with os.fdopen(_open_no_follow(self.path / ".lock"), "a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunError(
                    f"run {self.id} is being run by another process; wait for it to end."
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def clean_temporaries(self) -> int:
        """Remove temporary files left by an interrupted atomic write; return how many."""
        stale = [p for p in self.path.rglob(".*.tmp") if p.is_file()]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)


def read_run_csv(file: Path, expected: str, read: Any = pd.read_csv) -> pd.DataFrame:
    """``read(file)``, a CSV table of a run folder; a :class:`RunError` naming the file and
    ``expected`` (what the table should be) when it cannot be read. FileNotFoundError is
    left to the caller."""
    try:
        return read(file)
    except FileNotFoundError:
        raise
    except (ValueError, IndexError, UnicodeDecodeError, pd.errors.ParserError) as err:
        # EmptyDataError and ParserError are ValueErrors
        raise RunError(
            f"run file '{file}' is corrupt: expected {expected}; found {type(err).__name__}: {err}"
        ) from None
    except OSError as err:
        raise RunError(f"run file '{file}' cannot be read: {err.strerror or err}.") from None


def read_summary(path: Path) -> pd.DataFrame:
    """A run's ``summary.csv``. Model names stay text: a model named ``null``, ``NA`` or
    ``nan`` is not read as a missing value (only the score columns hold NaN)."""

    def read(file: Path) -> pd.DataFrame:
        columns = list(pd.read_csv(file, nrows=0).columns)
        key = "model" if "model" in columns else columns[0]
        missing = {c: ["", "nan", "NaN"] for c in columns if c != key}
        return pd.read_csv(file, keep_default_na=False, na_values=missing, dtype={key: str})

    return read_run_csv(path, "a CSV table of scores, one row per model", read)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class RunIndex:
    """The SQLite index of the runs under ``root`` (``root/index.sqlite``)."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY, name TEXT, created TEXT, state TEXT, dir TEXT,
            best_model TEXT, summary_json TEXT
        )
    """

    def __init__(self, root: Path | str, *, create: bool = True):
        # absolute, so that the folders recorded in the index are found from anywhere
        self.root = Path(root).expanduser().resolve()
        self.file = self.root / "index.sqlite"
        self.read_only = not create
        if not create:  # read-only commands: never make a store that is not there
            return
        self._refuse_a_file()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunError(f"cannot create the run folder '{self.root}': {err.strerror}.") from None
        if not os.access(self.root, os.W_OK):
            raise RunError(f"the run folder '{self.root}' is not writable.")
        with closing(self._connect()) as db, db:
            db.execute(self._SCHEMA)

    def _refuse_a_file(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise RunError(
                f"the runs directory '{self.root}' is a file, not a folder; give --runs-dir "
                "(or [outputs] dir in the experiment file) a folder, where run folders and "
                "index.sqlite go."
            )

    def _require_store(self) -> None:
        self._refuse_a_file()
        if not self.file.is_file():
            raise RunError(
                f"no run store at '{self.root}' (no index.sqlite there); give --runs-dir, "
                "or a run folder's path."
            )

    def _connect(self) -> sqlite3.Connection:
        # Switching to WAL needs an exclusive lock and SQLite may refuse it at once
        # ("database is locked") when another process opens the file at the same moment,
        # without waiting for the busy timeout; WAL mode persists in the file, so it is
        # set only when needed and retried with a growing pause.
        delay = 0.01
        deadline = time.monotonic() + 60
        while True:
            db = sqlite3.connect(self.file, timeout=60)
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                return db
            except sqlite3.OperationalError as err:
                db.close()
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise RunError(
                        f"the run index '{self.file}' cannot be opened: {err}."
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def create(self, name: str, files: dict[str, str] | None = None) -> RunFolder:
        """A new run folder with a unique id, registered as running.

        ``files`` (name -> text) are written before the run is registered, so a run that
        is listed always has them (the experiment, which ``--resume`` needs).
        """
        for _ in range(100):
            run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{secrets.token_hex(2)}"
            path = self.root / run_id
            try:
                path.mkdir()
            except FileExistsError:
                continue
            folder = RunFolder(path)
            for file, text in (files or {}).items():
                atomic_write_text(path / file, text)
            folder.set_status("running", started=_now())
            self.record(folder, name=name)
            return folder
        raise RunError(f"could not create a unique run folder under '{self.root}'.")

    def record(
        self,
        folder: RunFolder,
        *,
        name: str | None = None,
        best_model: str | None = None,
        summary: Any = None,
    ) -> None:
        """Insert or update the index row of ``folder`` from its status."""
        status = folder.read_json("status.json", dict)
        row = {
            "id": folder.id,
            "name": name,
            "created": status.get("started"),
            "state": status.get("state"),
            "dir": str(folder.path),
            "best_model": best_model,
            "summary_json": None if summary is None else json.dumps(summary, default=_json_default),
        }
        with closing(self._connect()) as db, db:
            db.execute(
                """INSERT INTO runs (id, name, created, state, dir, best_model, summary_json)
                   VALUES (:id, :name, :created, :state, :dir, :best_model, :summary_json)
                   ON CONFLICT(id) DO UPDATE SET state = excluded.state,
                     best_model = COALESCE(excluded.best_model, runs.best_model),
                     summary_json = COALESCE(excluded.summary_json, runs.summary_json)""",
                row,
            )

    def list(self) -> pd.DataFrame:
        """All runs, newest first, with their state read from the folders; ``best_model`` is
        None for a run that has none (failed, incomplete or running)."""
        self._require_store()
        with closing(self._connect()) as db:
            frame = pd.read_sql_query(
                "SELECT id, name, created, state, best_model, dir FROM runs ORDER BY created DESC, id DESC",
                db,
            )
        frame["state"] = [self._state(Path(d)) for d in frame["dir"]]
        # a run without a best model (failed, incomplete) has None, not NaN beside a string
        frame["best_model"] = (
            frame["best_model"].astype(object).where(frame["best_model"].notna(), None)
        )
        return frame

    @staticmethod
    def _state(path: Path) -> str:
        if not (path / "status.json").exists():
            return "missing"
        try:
            return RunFolder(path).status()["state"]
        except RunError:
            return "damaged"

    def open(self, run: str | Path) -> RunFolder:
        """A run by id (or unique id prefix) in this store, or by path."""
        path = Path(run)
        if (path / "status.json").exists():
            return RunFolder(path.resolve())
        candidates = (
            [p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(str(run))]
            if self.root.is_dir()
            else []
        )
        if len(candidates) == 1:
            return RunFolder(candidates[0])
        if candidates:
            raise RunError(
                f"{str(run)!r} matches several runs: {sorted(p.name for p in candidates)}."
            )
        if path.is_dir():
            raise RunError(
                f"the folder '{path}' exists but is not a tgds run folder: it has no status.json "
                "(a run folder holds status.json, experiment.toml and the run's results); give "
                "a run folder's path, or a run id that `tgds runs list` shows."
            )
        self._refuse_a_file()
        if self.read_only and not self.root.is_dir():
            raise RunError(
                f"no run store at '{self.root}', and {str(run)!r} is not a run folder; "
                "give --runs-dir, or a run folder's path."
            )
        raise RunError(f"no run {str(run)!r} in '{self.root}'; `tgds runs list` shows the runs.")
