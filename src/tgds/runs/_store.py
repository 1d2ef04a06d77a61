"""The run store: one folder per run, indexed in an embedded SQLite database.

Files are written atomically; the index uses SQLite's write-ahead log and a busy
timeout, so several runs started at once all land in it. A run whose process died
while running (``kill -9``, power loss) keeps ``state = "running"`` in its folder and is
reported as ``incomplete`` because its process no longer exists.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tgds.exceptions import TgdsError
from tgds.utils import atomic_write_text

__all__ = ["RunFolder", "RunIndex", "RunError", "read_summary"]


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

    def read_json(self, name: str) -> Any:
        file = self.path / name
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(
                f"run '{self.path}' has no {name}: it is not a tgds run folder, or it is damaged."
            ) from None
        except json.JSONDecodeError as err:
            raise RunError(f"run file '{file}' is corrupt: {err}.") from None

    def status(self) -> dict[str, Any]:
        status = self.read_json("status.json")
        if (
            status.get("state") == "running"
            and status.get("host") == socket.gethostname()
            and not _alive(int(status.get("pid", 0)))
        ):
            status["state"] = "incomplete"
        return status

    def set_status(self, state: str, **extra: Any) -> None:
        status = self.read_json("status.json") if (self.path / "status.json").exists() else {}
        if state == "running":  # a resumed run: what an earlier attempt ended with is stale
            for key in ("error", "finished"):
                status.pop(key, None)
        status.update({"state": state, "pid": os.getpid(), "host": socket.gethostname(), **extra})
        if state in ("complete", "failed"):
            status["finished"] = _now()
        self.write_json("status.json", status)

    def running_elsewhere(self) -> int | None:
        """The pid of another live process on this host that is running this run, if any."""
        status = self.read_json("status.json")
        if status.get("state") != "running" or status.get("host") != socket.gethostname():
            return None
        try:
            pid = int(status.get("pid", 0))
        except (TypeError, ValueError):
            return None
        return pid if pid > 0 and pid != os.getpid() and _alive(pid) else None

    def unit(self, model: str, fold: int) -> Path:
        path = self.path / "units" / f"{model}__fold{fold}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, message: str) -> None:
        with (self.path / "log.txt").open("a", encoding="utf-8") as fh:
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
        with (self.path / ".lock").open("a") as fh:
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


def read_summary(path: Path) -> pd.DataFrame:
    """A run's ``summary.csv``. Model names stay text: a model named ``null``, ``NA`` or
    ``nan`` is not read as a missing value (only the score columns hold NaN)."""
    columns = list(pd.read_csv(path, nrows=0).columns)
    key = "model" if "model" in columns else columns[0]
    missing = {c: ["", "nan", "NaN"] for c in columns if c != key}
    return pd.read_csv(path, keep_default_na=False, na_values=missing, dtype={key: str})


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
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunError(f"cannot create the run folder '{self.root}': {err.strerror}.") from None
        if not os.access(self.root, os.W_OK):
            raise RunError(f"the run folder '{self.root}' is not writable.")
        with closing(self._connect()) as db, db:
            db.execute(self._SCHEMA)

    def _require_store(self) -> None:
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
        status = folder.read_json("status.json")
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
        """All runs, newest first, with their state read from the folders."""
        self._require_store()
        with closing(self._connect()) as db:
            frame = pd.read_sql_query(
                "SELECT id, name, created, state, best_model, dir FROM runs ORDER BY created DESC, id DESC",
                db,
            )
        frame["state"] = [self._state(Path(d)) for d in frame["dir"]]
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
        if self.read_only and not self.root.is_dir():
            raise RunError(
                f"no run store at '{self.root}', and {str(run)!r} is not a run folder; "
                "give --runs-dir, or a run folder's path."
            )
        candidates = (
            [p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(str(run))]
            if self.root.is_dir()
            else []
        )
        if len(candidates) == 1:
            return RunFolder(candidates[0])
        if not candidates:
            raise RunError(
                f"no run {str(run)!r} in '{self.root}'; `tgds runs list` shows the runs."
            )
        raise RunError(f"{str(run)!r} matches several runs: {sorted(p.name for p in candidates)}.")
