"""The run store and CLI under awkward inputs: several targets, NaN scores, resuming runs
that are alive, changed or half-started, malformed settings and data, file modes, and
read-only commands that must not create a store. Every experiment is tiny (no training
longer than a few gradient-boosting iterations)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tgds.cli import app
from tgds.datasets import bundled_path, make_lake
from tgds.runs import RunFolder, RunIndex, load_experiment
from tgds.selection import summarise
from tgds.utils import atomic_write_text

runner = CliRunner()

CSV_EXPERIMENT = """
name = "tiny"

[data]
path = "lake.csv"

[theory]
path = "lake.toml"

[validation]
kind = "holdout"
time = "DateTime"
test_fraction = 0.3

[[models]]
name = "physics"
kind = "physics"

[[models]]
name = "HGB"
kind = "gradient_boosting"
inputs = ["doy", "Depth", "AirTemp"]
max_iter = 3
{extra}
[outputs]
dir = "runs"
"""


def _lake(folder: Path) -> pd.DataFrame:
    """A small lake table (about 300 rows, 16 dates) and its theory, written to ``folder``."""
    data = make_lake(n_years=1, seed=1)
    data = data[data["DateTime"].isin(sorted(data["DateTime"].unique())[:16])]
    data.to_csv(folder / "lake.csv", index=False)
    shutil.copy(bundled_path("lake.toml"), folder / "lake.toml")
    return data


def _write(folder: Path, text: str, name: str = "exp.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _experiment(folder: Path, extra: str = "") -> Path:
    _lake(folder)
    return _write(folder, CSV_EXPERIMENT.replace("{extra}", extra))


def _run(folder: Path, *args: str) -> tuple[Path, str]:
    result = runner.invoke(app, ["run", str(folder / "exp.toml"), "--quiet", *args])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (folder / "runs").iterdir() if p.is_dir()]
    return run, result.output


def _reopen(run: Path, *units: str, status: dict | None = None) -> None:
    """Make a complete run look interrupted: drop its results and the given units."""
    for name in ("summary.csv", "folds.csv", "report.html"):
        (run / name).unlink(missing_ok=True)
    for unit in units:
        (run / "units" / unit / "metrics.json").unlink()
    state = json.loads((run / "status.json").read_text())
    state.update(status or {"state": "failed", "error": "RuntimeError: boom"})
    (run / "status.json").write_text(json.dumps(state))


def _resume(run: Path):
    return runner.invoke(app, ["run", "--resume", str(run), "--quiet"])


HAS_PROC = Path("/proc/self/stat").is_file()


def _proc_start(pid: int) -> int:
    """Field 22 of ``/proc/<pid>/stat``: when the process started, in clock ticks after boot."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


# -- 1. theories with several targets ----------------------------------------------------------
LV = """
name = "lv"
{target}
[data]
source = "bundled:lotka_volterra"

[theory]
bundled = "lotka_volterra"

[validation]
kind = "blocked_time"
time = "Year"
n_splits = 2

[[models]]
name = "HGB"
kind = "gradient_boosting"
max_iter = 3

[[models]]
name = "HGBr"
kind = "gradient_boosting"
max_iter = 3
repair = true
"""


@pytest.mark.parametrize(("target", "other"), [("Hare", "lynx"), ("Lynx", "hare")])
def test_a_theory_with_two_targets_runs_audits_and_predicts_one_target(tmp_path, target, other):
    line = 'target = "Lynx"' if target == "Lynx" else ""
    _write(tmp_path, LV.replace("{target}", line))
    run, output = _run(tmp_path)
    assert "HGBr" in output
    assert json.loads((run / "data_card.json").read_text())["target"] == target
    metrics = json.loads((run / "units" / "HGBr__fold1" / "metrics.json").read_text())
    audited = [row["constraint"] for row in metrics["audit"]]
    assert audited == [f"{target.lower()}_nonnegative"]  # not the other target's bounds
    assert json.loads((run / "units" / "HGB__fold0" / "model.json").read_text())["target"] == target

    from tgds.datasets import load_lotka_volterra

    csv = tmp_path / "lv.csv"
    load_lotka_volterra().to_csv(csv, index=False)
    for model in ("HGB", "HGBr"):
        result = runner.invoke(app, ["predict", str(run), str(csv), "--model", model])
        assert result.exit_code == 0, result.output
        assert f"{target.lower()}_nonnegative" in result.output
        assert f"{other}_nonnegative" not in result.output


# -- 2. NaN scores rank last --------------------------------------------------------------------
def _folds(rmse_b: list[float]) -> pd.DataFrame:
    rows = []
    for model, rmse in (("a", [1.0, 1.0]), ("b", rmse_b), ("c", [2.0, 2.0])):
        for k, value in enumerate(rmse):
            rows.append({"model": model, "fold": k, "rmse": value, "mae": value, "r2": 0.5,
                         "consistency": 1.0, "violation_rate": 0.0, "complexity": 3.0,
                         "fit_s": 0.1})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rmse_b", [[np.nan, np.nan], [np.nan, 0.01]])
def test_a_model_with_nan_predictions_ranks_last_and_shows_nan(rmse_b):
    summary = summarise(_folds(rmse_b))
    assert list(summary.index) == ["a", "c", "b"]
    assert np.isnan(summary.loc["b", "rmse"]) and summary.loc["b", "rank_accuracy"] == 3


# -- 3. resuming a run whose process is alive -------------------------------------------------
def test_resume_refuses_a_run_whose_process_is_alive_and_resumes_a_dead_one(tmp_path):
    _experiment(tmp_path)
    run, _ = _run(tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        state = {"state": "running", "pid": sleeper.pid, "host": socket.gethostname(),
                 "pid_start": _proc_start(sleeper.pid) if HAS_PROC else None}  # fmt: skip
        _reopen(run, "HGB__fold0", status=state)
        refused = _resume(run)
        assert refused.exit_code == 2, refused.output
        assert run.name in refused.output and str(sleeper.pid) in refused.output
        assert "still running" in refused.output
        assert json.loads((run / "status.json").read_text())["pid"] == sleeper.pid  # untouched
        assert not (run / "units" / "HGB__fold0" / "metrics.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert RunFolder(run).status()["state"] == "incomplete"
    resumed = _resume(run)
    assert resumed.exit_code == 0, resumed.output
    assert RunFolder(run).status()["state"] == "complete"


# -- 4. resuming uses the run's own theory and folds --------------------------------------------
def test_resume_uses_the_stored_theory_and_folds(tmp_path):
    _experiment(tmp_path)
    run, _ = _run(tmp_path)
    _reopen(run, "HGB__fold0")
    folds = json.loads((run / "folds.json").read_text())
    # the same rows, but other dates (so a new holdout split would differ) and no theory file
    data = pd.read_csv(tmp_path / "lake.csv")
    data["DateTime"] = data["DateTime"].iloc[::-1].to_numpy()
    data.to_csv(tmp_path / "lake.csv", index=False)
    (tmp_path / "lake.toml").unlink()
    result = _resume(run)
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(run / "units" / "HGB__fold0" / "predictions.csv")
    assert predictions["row"].tolist() == folds[0]["test"]
    assert RunFolder(run).status()["state"] == "complete"


def test_resume_refuses_data_that_lost_or_gained_rows(tmp_path):
    _experiment(tmp_path)
    run, _ = _run(tmp_path)
    _reopen(run, "HGB__fold0")
    n_rows = json.loads((run / "data_card.json").read_text())["n_rows"]
    data = pd.read_csv(tmp_path / "lake.csv")
    data.iloc[:-10].to_csv(tmp_path / "lake.csv", index=False)
    result = _resume(run)
    assert result.exit_code == 2, result.output
    assert "data_card.json" in result.output
    assert str(n_rows) in result.output and str(n_rows - 10) in result.output
    assert not (run / "units" / "HGB__fold0" / "metrics.json").exists()


# -- 5. a run killed before it started -----------------------------------------------------------
def test_a_run_killed_before_its_experiment_was_written_gives_a_clear_error(tmp_path):
    folder = RunIndex(tmp_path / "runs").create("early")
    result = _resume(folder.path)
    assert result.exit_code == 2, result.output
    assert "interrupted before it started" in result.output
    assert "run the experiment again" in result.output


def test_the_experiment_is_written_before_the_run_is_registered(tmp_path, monkeypatch):
    _experiment(tmp_path)
    seen = []
    record = RunIndex.record

    def spy(self, folder, **kwargs):
        seen.append((folder.path / "experiment.toml").is_file())
        return record(self, folder, **kwargs)

    monkeypatch.setattr(RunIndex, "record", spy)
    _run(tmp_path)
    assert seen and all(seen)


def test_a_run_killed_while_writing_its_start_files_resumes(tmp_path):
    _experiment(tmp_path)
    run, _ = _run(tmp_path)
    for name in ("theory.toml", "data_card.json", "folds.json", "summary.csv", "folds.csv"):
        (run / name).unlink()
    shutil.rmtree(run / "units")
    _reopen(run, status={"state": "running", "pid": 2**22 + 12345})
    result = _resume(run)
    assert result.exit_code == 0, result.output
    assert (run / "folds.json").is_file() and RunFolder(run).status()["state"] == "complete"


# -- 6. a failed run resumed successfully --------------------------------------------------------
def test_a_resumed_failed_run_no_longer_carries_its_error(tmp_path):
    _experiment(tmp_path)
    run, _ = _run(tmp_path)
    _reopen(run, "HGB__fold0", status={"state": "failed", "error": "RuntimeError: boom",
                                       "finished": "2000-01-01T00:00:00"})  # fmt: skip
    folder = RunFolder(run)
    folder.set_status("running")
    assert "error" not in folder.read_json("status.json")
    assert "finished" not in folder.read_json("status.json")
    _reopen(run, status={"state": "failed", "error": "RuntimeError: boom",
                         "finished": "2000-01-01T00:00:00"})  # fmt: skip
    result = _resume(run)
    assert result.exit_code == 0, result.output
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "complete" and "error" not in status
    assert status["finished"] != "2000-01-01T00:00:00"
    assert "boom" not in (run / "report.html").read_text()


# -- 7. malformed settings and data: exit 2, nothing written -------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("max_iter = 3", 'max_iter = "x"', "[[models]] #2 (HGB) key 'max_iter'"),
        ('inputs = ["doy", "Depth", "AirTemp"]', 'inputs = "doy"', "[[models]] #2 (HGB) key 'inputs'"),
        ('inputs = ["doy", "Depth", "AirTemp"]', "inputs = []", "[[models]] #2 (HGB) key 'inputs'"),
        ('time = "DateTime"', 'time = ["DateTime"]', "[validation] key 'time'"),
        ("{extra}", '[[models]]\nname = "NN"\nkind = "neural"\nepochs = "three"\n',
         "[[models]] #3 (NN) key 'epochs'"),
        ("{extra}", '[[models]]\nname = "NN"\nkind = "neural"\ntargets = "Observed_temp"\n',
         "unknown key(s) ['targets']"),
    ],
)  # fmt: skip
def test_malformed_model_settings_are_refused_before_any_run_folder(tmp_path, old, new, words):
    _lake(tmp_path)
    path = _write(tmp_path, CSV_EXPERIMENT.replace(old, new).replace("{extra}", ""))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not (tmp_path / "runs").exists()


def _no_airtemp(d):
    return d.drop(columns=["AirTemp"])


def _text_in_input(d):
    d = d.astype({"AirTemp": object})
    d.loc[d.index[3], "AirTemp"] = "warm"
    return d


def _text_in_target(d):
    d = d.astype({"Observed_temp": object})
    d.loc[d.index[3], "Observed_temp"] = "cold"
    return d


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_no_airtemp, "needs the input column(s) ['AirTemp']"),
        (_text_in_input, "'AirTemp' must hold numbers"),
        (_text_in_target, "'Observed_temp' must hold numbers"),
        (lambda d: d.head(0), "no rows with a value of the target"),
        (lambda d: d.assign(Observed_temp=np.nan), "no rows with a value of the target"),
    ],
)
def test_malformed_data_is_a_clean_error(tmp_path, edit, words):
    data = _lake(tmp_path)
    edit(data).to_csv(tmp_path / "lake.csv", index=False)
    path = _write(tmp_path, CSV_EXPERIMENT.replace("{extra}", ""))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not (tmp_path / "runs").exists()


def test_a_model_that_raises_while_fitting_fails_the_run_cleanly(tmp_path, monkeypatch):
    from tgds.runs import _runner

    _experiment(tmp_path)
    build = _runner.build_model

    class Broken:
        def fit(self, X, y, **kwargs):
            raise ValueError("Input contains infinity")

    def fake(spec, theory, target, unit):
        return Broken() if spec.name == "HGB" else build(spec, theory, target, unit)

    monkeypatch.setattr(_runner, "build_model", fake)
    result = runner.invoke(app, ["run", str(tmp_path / "exp.toml"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "model 'HGB' (gradient_boosting) failed on fold 0" in result.output
    assert "Input contains infinity" in result.output
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert RunFolder(run).status()["state"] == "failed"


def test_load_experiment_checks_model_settings(tmp_path):
    _lake(tmp_path)
    path = _write(
        tmp_path, CSV_EXPERIMENT.replace("max_iter = 3", "max_iter = 0").replace("{extra}", "")
    )
    from tgds.runs import ExperimentError

    with pytest.raises(ExperimentError, match=r"\(HGB\) key 'max_iter'"):
        load_experiment(path)


# -- 8. predict on bad data -------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("robust")
    _experiment(
        tmp,
        extra='[[models]]\nname = "HGBr"\nkind = "gradient_boosting"\nmax_iter = 3\nrepair = true\n',
    )
    run, _ = _run(tmp)
    return tmp, run


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_no_airtemp, "cannot predict on this data"),
        (_text_in_input, "cannot predict on this data"),
    ],
)
@pytest.mark.parametrize("model", ["HGB", "HGBr"])
def test_predict_on_bad_data_is_a_clean_error(finished, tmp_path, edit, words, model):
    tmp, run = finished
    csv = tmp_path / "new.csv"
    edit(pd.read_csv(tmp / "lake.csv")).to_csv(csv, index=False)
    result = runner.invoke(app, ["predict", str(run), str(csv), "--model", model])
    assert result.exit_code == 2, result.output
    assert words in result.output and "AirTemp" in result.output


def test_predict_into_a_missing_folder_exits_2(finished, tmp_path):
    tmp, run = finished
    out = tmp_path / "nowhere" / "pred.csv"
    result = runner.invoke(app, ["predict", str(run), str(tmp / "lake.csv"), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output and not out.parent.exists()


# -- 9. a relative --runs-dir ---------------------------------------------------------------------
def test_a_relative_runs_dir_is_stored_absolute(tmp_path, monkeypatch):
    _experiment(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "exp.toml", "--quiet", "--runs-dir", "rel runs"])
    assert result.exit_code == 0, result.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    frame = RunIndex(tmp_path / "rel runs").list()
    assert list(frame["state"]) == ["complete"]
    assert Path(frame["dir"][0]).is_absolute()
    listed = runner.invoke(app, ["runs", "list", "--runs-dir", str(tmp_path / "rel runs")])
    assert "complete" in listed.output and "missing" not in listed.output


# -- 10. file modes -----------------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_run_files_are_readable_by_others_under_umask_022(finished):
    _, run = finished
    for name in ("report.html", "summary.csv", "status.json", "experiment.toml"):
        assert (run / name).stat().st_mode & 0o044 == 0o044, name


# -- 11. read-only commands never create a store ---------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list"],
        ["runs", "show", "abc"],
        ["report", "abc"],
        ["predict", "abc", "data.csv"],
        ["run", "--resume", "abc"],
        ["runs", "compare", "abc", "def"],
    ],
)
def test_read_only_commands_do_not_create_a_run_store(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("x\n1\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no run store at" in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "data.csv"]


def test_read_only_commands_still_open_a_run_folder_by_path(finished, tmp_path, monkeypatch):
    tmp, run = finished
    monkeypatch.chdir(tmp_path)
    shown = runner.invoke(app, ["runs", "show", str(run)])
    assert shown.exit_code == 0 and "complete" in shown.output
    predicted = runner.invoke(app, ["predict", str(run), str(tmp / "lake.csv")])
    assert predicted.exit_code == 0, predicted.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="uses flock")
def test_two_resumes_at_once_cannot_both_run(tmp_path):
    _experiment(tmp_path)
    run, _ = _run(tmp_path)
    _reopen(run, "HGB__fold0")
    with RunFolder(run).lock():  # another process resuming the same run holds the lock
        refused = _resume(run)
        assert refused.exit_code == 2, refused.output
        assert "being run by another process" in refused.output
        assert not (run / "units" / "HGB__fold0" / "metrics.json").exists()
    assert _resume(run).exit_code == 0
    assert RunFolder(run).status()["state"] == "complete"


# -- 12. hand-corrupted run files: one-line errors naming the file ------------------------------
def _copy(finished, tmp_path: Path) -> Path:
    """A copy of the finished run in a store of its own (the fixture stays untouched)."""
    _, run = finished
    copy = tmp_path / "runs" / run.name
    shutil.copytree(run, copy)
    return copy


CORRUPT = [
    ("data_card.json", "{not json", "expected JSON, found 'not json' at line 1, column 2"),
    ("experiment.toml", 'name = "tiny\n[data\n', "expected TOML, found"),
    ("units/HGB__fold0/metrics.json", "", "expected JSON, found an empty file"),
    ("units/HGB__fold0/history.json", '{"epoch": [1,', "expected JSON, found the end of the file"),
    ("status.json", "[1, 2]", "expected a JSON object, found a JSON array"),
    ("status.json", b'{"state": "\xff"}', "expected UTF-8 text, found the byte"),
]


def _corrupt(run: Path, name: str, content: str | bytes) -> Path:
    path = run / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path.resolve()


def _one_line_error(result, path: Path, words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"error: run file '{path}' is corrupt: "), result.output
    assert words in result.output and result.output.count("\n") == 1, result.output


@pytest.mark.parametrize(("name", "content", "words"), CORRUPT)
def test_a_corrupt_run_file_is_a_one_line_error_of_report_and_resume(
    finished, tmp_path, name, content, words
):
    run = _copy(finished, tmp_path)
    _reopen(run, "HGBr__fold0")
    path = _corrupt(run, name, content)
    report = runner.invoke(app, ["report", str(run)])
    if name == "status.json":  # the report shows the state as unknown (as before)
        assert report.exit_code == 0 and "state-unknown" in (run / "report.html").read_text()
    else:
        _one_line_error(report, path, words)
    _one_line_error(_resume(run), path, words)
    if name != "units/HGB__fold0/history.json":  # read by the report, once the units are done
        assert not (run / "units" / "HGBr__fold0" / "metrics.json").exists()


@pytest.mark.parametrize(("content", "words"), [c[1:] for c in CORRUPT if c[0] == "status.json"])
def test_a_corrupt_status_is_an_error_of_show_and_damaged_in_the_list(
    finished, tmp_path, content, words
):
    run = _copy(finished, tmp_path)
    RunIndex(tmp_path / "runs").record(RunFolder(run), name="tiny")
    path = _corrupt(run, "status.json", content)
    _one_line_error(runner.invoke(app, ["runs", "show", str(run)]), path, words)
    listed = runner.invoke(app, ["runs", "list", "--runs-dir", str(tmp_path / "runs")])
    assert listed.exit_code == 0, listed.output
    assert "damaged" in listed.output


@pytest.mark.parametrize("command", ["show", "compare"])
def test_a_corrupt_summary_is_a_one_line_error_of_show_and_compare(finished, tmp_path, command):
    run = _copy(finished, tmp_path)
    path = _corrupt(run, "summary.csv", b"model,rmse\n\xff\xfe,1\n")
    args = [str(run)] if command == "show" else [str(run), str(run)]
    result = runner.invoke(app, ["runs", command, *args, "--runs-dir", str(tmp_path / "runs")])
    _one_line_error(result, path, "expected a CSV table of scores")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("units/HGB__fold0/model.json", "kind: gradient_boosting", "expected JSON, found 'kind"),
        ("units/HGB__fold0/model.json", "[]", "expected a JSON object, found a JSON array"),
        ("folds.json", "{}", "expected a JSON array, found a JSON object"),
    ],
)
def test_a_corrupt_run_file_is_a_one_line_error_of_predict(
    finished, tmp_path, name, content, words
):
    tmp, _ = finished
    run = _copy(finished, tmp_path)
    path = _corrupt(run, name, content)
    result = runner.invoke(app, ["predict", str(run), str(tmp / "lake.csv"), "--model", "HGB"])
    _one_line_error(result, path, words)


def test_a_model_file_naming_a_function_is_not_loaded(finished, tmp_path):
    import skops.io
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    tmp, _ = finished
    run = _copy(finished, tmp_path)
    hostile = make_pipeline(FunctionTransformer(np.savetxt), HistGradientBoostingRegressor())
    (run / "units" / "HGB__fold0" / "model.skops").write_bytes(skops.io.dumps(hostile))
    result = runner.invoke(app, ["predict", str(run), str(tmp / "lake.csv"), "--model", "HGB"])
    assert result.exit_code == 2, result.output
    assert "['numpy.savetxt'], which are not classes" in result.output


# -- 13. who holds a running run: host, pid and the pid's start time -----------------------------
def test_the_status_records_the_host_and_the_start_time_of_the_process(finished):
    _, run = finished
    status = json.loads((run / "status.json").read_text())
    assert status["host"] == socket.gethostname()
    assert status["pid"] == os.getpid()
    assert status["pid_start"] == (_proc_start(os.getpid()) if HAS_PROC else None)


def test_a_run_marked_running_on_another_host_is_refused(finished, tmp_path):
    run = _copy(finished, tmp_path)
    _reopen(run, "HGBr__fold0", status={"state": "running", "pid": 4242, "host": "far.example"})
    assert RunFolder(run).status()["state"] == "running"  # it cannot be checked from here
    refused = _resume(run)
    assert refused.exit_code == 2, refused.output
    assert "marked running on host 'far.example' (process 4242)" in refused.output
    assert "resume with --force" in refused.output
    assert not (run / "units" / "HGBr__fold0" / "metrics.json").exists()
    # the way out the message gives works
    forced = runner.invoke(app, ["run", "--resume", str(run), "--force"])
    assert forced.exit_code == 0, forced.output
    assert RunFolder(run).status()["state"] == "complete"
    alone = runner.invoke(app, ["run", str(run / "experiment.toml"), "--force"])
    assert alone.exit_code == 2 and "--force goes with --resume" in alone.output


@pytest.mark.skipif(not HAS_PROC, reason="needs /proc")
def test_a_reused_pid_does_not_keep_a_run_running(finished, tmp_path):
    run = _copy(finished, tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        here = {"state": "running", "pid": sleeper.pid, "host": socket.gethostname()}
        # the recorded process: still running
        _reopen(run, "HGBr__fold0", status={**here, "pid_start": _proc_start(sleeper.pid)})
        assert RunFolder(run).status()["state"] == "running"
        refused = _resume(run)
        assert refused.exit_code == 2 and "still running" in refused.output, refused.output
        # another process now has the pid: the run's own process is gone
        _reopen(run, status={**here, "pid_start": _proc_start(sleeper.pid) - 1})
        assert RunFolder(run).status()["state"] == "incomplete"
        resumed = _resume(run)
        assert resumed.exit_code == 0, resumed.output
    finally:
        sleeper.kill()
        sleeper.wait()
    assert RunFolder(run).status()["state"] == "complete"


def test_without_start_times_a_live_pid_still_holds_the_run(finished, tmp_path, monkeypatch):
    from tgds.runs import _store

    monkeypatch.setattr(_store, "_start_time", lambda pid: None)  # no /proc (macOS, Windows)
    run = _copy(finished, tmp_path)
    here = {"state": "running", "pid": os.getpid(), "host": socket.gethostname()}
    _reopen(run, "HGBr__fold0", status={**here, "pid_start": 12345})
    assert RunFolder(run).status()["state"] == "running"


def test_an_old_status_without_host_or_start_time_is_read_as_this_hosts(finished, tmp_path):
    dead = subprocess.Popen(["true"])  # noqa: S603, S607
    dead.wait()
    run = _copy(finished, tmp_path)
    _reopen(run, "HGBr__fold0", status={"state": "running", "pid": os.getpid()})
    status = json.loads((run / "status.json").read_text())
    for key in ("host", "pid_start"):  # as written before tgds recorded them
        status.pop(key, None)
    (run / "status.json").write_text(json.dumps(status))
    assert RunFolder(run).status()["state"] == "running"  # this process: alive
    (run / "status.json").write_text(json.dumps({**status, "pid": dead.pid}))
    assert RunFolder(run).status()["state"] == "incomplete"
    assert _resume(run).exit_code == 0
    assert RunFolder(run).status()["state"] == "complete"
