"""Fixtures shared by several test modules."""

from __future__ import annotations

import json
import shutil
import struct
import sys
from collections.abc import Callable

import pytest


class RecordingMlflow:
    """A stand-in for the mlflow module (an optional dependency) that records each call;
    ``artifact_uri`` is where it says a run's artifacts go."""

    def __init__(self, artifact_uri: str = "file:///tmp/mlruns/0/abc/artifacts"):
        self.calls: list[tuple] = []
        self.artifact_uri = artifact_uri

    def get_artifact_uri(self, *args):
        self.calls.append(("get_artifact_uri", args))
        return self.artifact_uri

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return self

        return record

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def fake_mlflow(monkeypatch) -> RecordingMlflow:
    """A :class:`RecordingMlflow` installed as ``mlflow`` for the test."""
    fake = RecordingMlflow()
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    return fake


@pytest.fixture
def run(source_run, tmp_path):
    """A copy of the module's ``source_run`` folder, without its report, to damage freely
    (a module that uses it defines ``source_run``)."""
    copy = tmp_path / source_run.name
    shutil.copytree(source_run, copy)
    (copy / "report.html").unlink(missing_ok=True)
    return copy


def _forge_meta(data: bytes, change: Callable[[dict], None]) -> bytes:
    """A tgds container (model file or checkpoint) whose JSON metadata ``change(meta)`` has
    edited, its arrays kept. The layout: a magic line, an 8-byte big-endian length, the
    JSON, the arrays."""
    start = data.index(b"\n") + 1
    (n,) = struct.unpack(">Q", data[start : start + 8])
    meta = json.loads(data[start + 8 : start + 8 + n])
    change(meta)
    header = json.dumps(meta).encode()
    return data[:start] + struct.pack(">Q", len(header)) + header + data[start + 8 + n :]


@pytest.fixture
def forge_meta() -> Callable[[bytes, Callable[[dict], None]], bytes]:
    """``forge_meta(data, change)``: the bytes of a container with edited metadata."""
    return _forge_meta
