"""Experiments, the run store, resume after kill -9, predict, and the CLI around them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tgds.cli import app
from tgds.runs import ExperimentError, RunFolder, RunIndex, load_experiment, predict_with_run
from tgds.runs._runner import load_data

runner = CliRunner()

EXPERIMENT = """
name = "small"

[data]
source = "bundled:lake"
seed = 1
n_years = 1
unlabeled = "grid"

[theory]
bundled = "lake"

[validation]
kind = "holdout"
time = "DateTime"
test_fraction = 0.3

[[models]]
name = "physics"
kind = "physics"

[[models]]
name = "NN"
kind = "neural"
inputs = ["doy", "Depth", "AirTemp", "ShortWave"]
physics = "none"
hidden = [8]
epochs = {epochs}
checkpoint_every = 2
random_state = 0

[[models]]
name = "TGNN"
kind = "neural"
inputs = ["doy", "Depth", "AirTemp", "ShortWave", "Modeled_temp"]
hidden = [8]
epochs = {epochs}
checkpoint_every = 2
random_state = 0

[[models]]
name = "HGB"
kind = "gradient_boosting"
inputs = ["doy", "Depth", "AirTemp", "ShortWave"]
max_iter = 20
repair = true

[outputs]
dir = "runs"
"""


def _experiment(tmp_path: Path, epochs: int = 6, text: str | None = None) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(text if text is not None else EXPERIMENT.replace("{epochs}", str(epochs)))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One complete small run, shared by the tests that only read it."""
    tmp = tmp_path_factory.mktemp("run")
    result = runner.invoke(app, ["run", str(_experiment(tmp)), "--quiet"])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    return tmp, folder, result.output


def test_a_run_writes_every_file(finished):
    tmp, folder, output = finished
    for name in (
        "experiment.toml",
        "theory.toml",
        "data_card.json",
        "folds.json",
        "status.json",
        "summary.csv",
        "folds.csv",
        "log.txt",
    ):
        assert (folder / name).is_file(), name
    assert RunFolder(folder).status()["state"] == "complete"
    for model in ("physics", "NN", "TGNN", "HGB"):
        unit = folder / "units" / f"{model}__fold0"
        metrics = json.loads((unit / "metrics.json").read_text())
        assert metrics["model"] == model and np.isfinite(metrics["rmse"])
        assert (unit / "predictions.csv").is_file() and (unit / "model.json").is_file()
    assert (folder / "units" / "NN__fold0" / "history.json").is_file()
    card = json.loads((folder / "data_card.json").read_text())
    assert card["target"] == "Observed_temp" and card["n_rows"] > 100
    assert "run folder:" in output and "TGNN" in output
    assert not list(folder.rglob(".*.tmp"))


def test_runs_list_show_compare(finished):
    tmp, folder, _ = finished
    runs = str(tmp / "runs")
    listed = runner.invoke(app, ["runs", "list", "--runs-dir", runs])
    assert listed.exit_code == 0 and folder.name in listed.output and "complete" in listed.output
    shown = runner.invoke(app, ["runs", "show", folder.name[:15], "--runs-dir", runs])
    assert shown.exit_code == 0 and "TGNN" in shown.output
    both = runner.invoke(app, ["runs", "compare", folder.name, str(folder), "--runs-dir", runs])
    assert both.exit_code == 0 and both.output.count("physics") == 2
    missing = runner.invoke(app, ["runs", "show", "nope", "--runs-dir", runs])
    assert missing.exit_code == 2 and "no run 'nope'" in missing.output


def test_predict_reproduces_the_runs_test_predictions_exactly(finished, tmp_path):
    _, folder, _ = finished
    exp = load_experiment(folder / "experiment.toml")
    data, _ = load_data(exp.data)
    data = data[data["Observed_temp"].notna()].reset_index(drop=True)
    test = json.loads((folder / "folds.json").read_text())[-1]["test"]
    csv = tmp_path / "test.csv"
    data.iloc[test].to_csv(csv, index=False, float_format="%.17g")
    for model in ("physics", "NN", "TGNN", "HGB"):
        stored = pd.read_csv(folder / "units" / f"{model}__fold0" / "predictions.csv")
        frame, report = predict_with_run(RunFolder(folder), pd.read_csv(csv), model=model)
        np.testing.assert_array_equal(frame["predicted"].to_numpy(), stored["predicted"].to_numpy())
        assert 0 <= report.score <= 1
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["predict", str(folder), str(csv), "--model", "TGNN", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Consistency audit" in result.output
    stored = pd.read_csv(folder / "units" / "TGNN__fold0" / "predictions.csv")
    np.testing.assert_array_equal(
        pd.read_csv(out)["predicted"].to_numpy(), stored["predicted"].to_numpy()
    )
    bad = runner.invoke(app, ["predict", str(folder), str(csv), "--model", "GPT"])
    assert bad.exit_code == 2 and "no model 'GPT'" in bad.output


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda t: t.replace('kind = "physics"', 'kind = "oracle"'),
            "[[models]] #1 (physics) key 'kind': expected one of 'physics', 'neural', 'gradient_boosting'; got 'oracle'",
        ),
        (lambda t: t.replace("hidden = [8]", "hiden = [8]", 1), "unknown key(s) ['hiden']"),
        (lambda t: t.replace('source = "bundled:lake"', 'path = "nowhere.csv"'), "the data file"),
        (lambda t: t.replace('kind = "holdout"', 'kind = "random"'), "[validation] key 'kind'"),
        (lambda t: t.replace("[theory]", "[theory]\npath = 'x.toml'"), "give exactly one of path"),
        (lambda t: t + "\n[surprise]\n", "unknown key(s) ['surprise']"),
        (lambda t: t.replace('name = "small"', 'name = "small one"'), "key 'name'"),
        (lambda t: "[[models]\n", "not valid TOML"),
    ],
)
def test_bad_experiment_files_exit_2_and_write_nothing(tmp_path, edit, words):
    path = _experiment(tmp_path, text=edit(EXPERIMENT.replace("{epochs}", "2")))
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    assert words in str(err.value) and str(path) in str(err.value)
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and words in result.output
    assert not (tmp_path / "runs").exists()


def test_unwritable_output_folder_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    text = EXPERIMENT.replace("{epochs}", "2").replace('dir = "runs"', 'dir = "file/runs"')
    result = runner.invoke(app, ["run", str(_experiment(tmp_path, text=text))])
    assert result.exit_code == 2 and "cannot create the run folder" in result.output
    assert blocker.read_text() == "not a folder"
    assert runner.invoke(app, ["run", str(tmp_path / "missing.toml")]).exit_code == 2


def _start(exp: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tgds.cli", "run", str(exp), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def test_two_runs_at_once_both_land_in_the_index(tmp_path):
    exp = _experiment(tmp_path, epochs=2)
    procs = [_start(exp), _start(exp)]
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out.decode()
    frame = RunIndex(tmp_path / "runs").list()
    assert len(frame) == 2 and set(frame["state"]) == {"complete"} and frame["id"].is_unique


@pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL")
def test_kill_9_leaves_no_corrupt_file_and_resume_completes(tmp_path):
    exp = _experiment(tmp_path, epochs=400)
    proc = _start(exp)
    deadline = time.time() + 300
    ckpt = None
    while time.time() < deadline and proc.poll() is None:
        found = (
            list((tmp_path / "runs").glob("*/units/NN__fold0/checkpoint.tgds"))
            if (tmp_path / "runs").exists()
            else []
        )
        if found:
            ckpt = found[0]
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()  # the pipe is never read; an open one warns when collected
    assert ckpt is not None and proc.returncode == -signal.SIGKILL, (
        "the run was not caught mid-training"
    )
    folder = ckpt.parents[2]
    assert RunFolder(folder).status()["state"] == "incomplete"
    for file in folder.rglob("*.json"):
        json.loads(file.read_text())  # every visible JSON file is whole
    assert not (folder / "units" / "NN__fold0" / "metrics.json").exists()
    listed = runner.invoke(app, ["runs", "list", "--runs-dir", str(tmp_path / "runs")])
    assert "incomplete" in listed.output
    result = runner.invoke(
        app, ["run", "--resume", folder.name, "--runs-dir", str(tmp_path / "runs"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert RunFolder(folder).status()["state"] == "complete"
    assert (folder / "units" / "TGNN__fold0" / "metrics.json").is_file()
    again = runner.invoke(
        app, ["run", "--resume", folder.name, "--runs-dir", str(tmp_path / "runs")]
    )
    assert again.exit_code == 2 and "already complete" in again.output


def test_mlflow_tracking_logs_params_metrics_and_the_report(tmp_path, fake_mlflow):
    fake = fake_mlflow
    text = EXPERIMENT.replace("{epochs}", "2") + '\n[tracking]\nmlflow = "file:./mlruns"\n'
    result = runner.invoke(app, ["run", str(_experiment(tmp_path, text=text)), "--quiet"])
    assert result.exit_code == 0, result.output
    names = [c[0] for c in fake.calls]
    assert names[:3] == ["set_tracking_uri", "set_experiment", "start_run"]
    # a relative store is taken from the experiment file's folder, as the data paths are
    assert fake.calls[0][1] == ((tmp_path / "mlruns").resolve().as_uri(),)
    params = next(c[1][0] for c in fake.calls if c[0] == "log_params")
    assert params["TGNN.kind"] == "neural"
    metrics = {k for c in fake.calls if c[0] == "log_metrics" for k in c[1][0]}
    assert {"TGNN.rmse", "physics.consistency"} <= metrics
    artifacts = {Path(c[1][0]).name for c in fake.calls if c[0] == "log_artifact"}
    assert {"report.html", "summary.csv", "theory.toml"} <= artifacts


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:./mlruns", "{base_uri}/mlruns"),
        ("file:mlruns", "{base_uri}/mlruns"),
        ("mlruns", "{base}/mlruns"),
        ("sqlite:///track.db", "sqlite:///{base}/track.db"),
        ("file:///srv/mlruns", "file:///srv/mlruns"),
        ("/srv/mlruns", "/srv/mlruns"),
        ("sqlite:////srv/track.db", "sqlite:////srv/track.db"),
    ],
)
def test_relative_mlflow_stores_are_taken_from_the_experiment_folder(
    tmp_path, monkeypatch, uri, expected
):
    text = EXPERIMENT.replace("{epochs}", "2") + f'\n[tracking]\nmlflow = "{uri}"\n'
    path = _experiment(tmp_path, text=text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    base = tmp_path.resolve()
    exp = load_experiment(path)
    assert exp.mlflow == expected.format(base=base, base_uri=base.as_uri())
    # the resolved experiment a resumed run reads keeps the same store
    assert exp.to_toml_dict()["tracking"]["mlflow"] == exp.mlflow


def test_mlflow_missing_is_a_clear_error_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    text = EXPERIMENT.replace("{epochs}", "2") + '\n[tracking]\nmlflow = "file:./mlruns"\n'
    result = runner.invoke(app, ["run", str(_experiment(tmp_path, text=text))])
    assert result.exit_code == 2 and "pip install 'tgds[mlflow]'" in result.output
    assert not (tmp_path / "runs").exists()


def test_the_index_survives_many_processes_creating_runs_at_once(tmp_path):
    # no training: only the store, so that the processes really collide on a fresh index
    code = "import sys; from pathlib import Path; from tgds.runs import RunIndex; i = RunIndex(Path(sys.argv[1]))\n"
    code += "for _ in range(5): i.create('race')"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "runs")]) for _ in range(6)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0] * 6
    frame = RunIndex(tmp_path / "runs").list()
    assert len(frame) == 30 and frame["id"].is_unique
