"""Security of runs: MLflow tracking stays local, names are whole-string checked, and the
report does not follow symbolic links out of a run folder."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tgds.report import load_run, render_report
from tgds.runs import ExperimentError, RunError, RunFolder, _experiment
from tgds.runs._experiment import parse_experiment
from tgds.runs._runner import _log_mlflow, execute, resume
from tgds.utils._toml import toml_key

_spec = importlib.util.spec_from_file_location(
    "tgds_test_make_run_security", Path(__file__).parent / "fixtures" / "make_run.py"
)
make_run_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_run_module)


def _raw(**changes) -> dict:
    raw = {
        "name": "demo",
        "data": {"source": "bundled:lake", "seed": 1, "n_years": 1},
        "theory": {"bundled": "lake"},
        "validation": {"kind": "holdout", "time": "DateTime"},
        "models": [{"name": "physics", "kind": "physics"}],
    }
    raw.update(changes)
    return raw


# -- 1. [tracking] mlflow: local storage only ------------------------------------------------
REMOTE = [
    "http://attacker.example:5000",
    "https://attacker.example",
    "HTTP://attacker.example",
    "databricks",
    "databricks-uc",
    " Databricks",
    "databricks://profile",
    "s3://bucket/mlruns",
    "file://attacker.example/share/mlruns",
    "sqlite://",
    "sqlite:///mlflow.db?uri=true",
    "mlflow-artifacts:/x",
    "",
    "mlruns\n",
]


@pytest.mark.parametrize("uri", REMOTE)
def test_tracking_uri_that_may_reach_the_network_is_refused(tmp_path, uri):
    with pytest.raises(ExperimentError) as err:
        parse_experiment(_raw(tracking={"mlflow": uri}), tmp_path)
    message = str(err.value)
    assert "[tracking] key 'mlflow'" in message
    assert "expected local storage" in message and repr(uri)[:40] in message
    assert "tgds does not reach the network at run time" in message


@pytest.mark.parametrize(
    "uri",
    ["file:./mlruns", "file:///tmp/mlruns", "file://localhost/tmp/mlruns", "mlruns", "/tmp/ml",
     "sqlite:///mlflow.db", "sqlite:////tmp/mlflow.db"],
)  # fmt: skip
def test_tracking_uri_of_local_storage_is_accepted(tmp_path, uri):
    kept = parse_experiment(_raw(tracking={"mlflow": uri}), tmp_path).mlflow
    assert _experiment.is_local_uri(kept, sqlite=True)
    # relative paths are made absolute (from the experiment's folder), absolute ones kept
    assert kept == uri if "/tmp/" in uri else str(tmp_path.resolve()) in kept


def test_resume_of_a_received_run_folder_does_not_log_to_its_server(tmp_path, fake_mlflow):
    fake = fake_mlflow
    run = tmp_path / "runs" / "20240501-123005-demo-abcd"
    run.mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"state": "failed"}))
    (run / "experiment.toml").write_text(
        'name = "demo"\n[data]\nsource = "bundled:lake"\n[theory]\nbundled = "lake"\n'
        '[validation]\nkind = "holdout"\ntime = "DateTime"\n'
        '[tracking]\nmlflow = "http://attacker.example:5000"\n'
        '[[models]]\nname = "physics"\nkind = "physics"\n'
    )
    with pytest.raises(ExperimentError, match="does not reach the network"):
        resume(run)
    assert fake.calls == []
    assert sorted(p.name for p in run.iterdir()) == ["experiment.toml", "status.json"]


def test_an_experiment_made_in_code_with_a_remote_uri_is_refused_before_running(
    tmp_path, fake_mlflow
):
    fake = fake_mlflow
    exp = parse_experiment(_raw(outputs={"dir": "runs"}), tmp_path)
    exp = dataclasses.replace(exp, mlflow="https://attacker.example")
    with pytest.raises(RunError, match=r"expected local storage .*got 'https://attacker"):
        execute(exp, quiet=True)
    assert fake.calls == [] and not (tmp_path / "runs").exists()


def test_a_local_store_with_remote_artifact_storage_gets_no_files(tmp_path, fake_mlflow):
    """A local mlruns whose experiment names http artifact storage (meta.yaml) is refused."""
    fake = fake_mlflow
    fake.artifact_uri = "http://attacker.example/artifacts"
    exp = parse_experiment(_raw(tracking={"mlflow": "file:./mlruns"}), tmp_path)
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    (folder.path / "report.html").write_text("<html></html>")
    import pandas as pd  # noqa: PLC0415

    summary = pd.DataFrame({"rmse": [1.0], "mae": [1.0], "consistency": [1.0],
                            "complexity": [0.0]}, index=["physics"])  # fmt: skip
    with pytest.raises(RunError, match="stores artifacts at 'http://attacker.example"):
        _log_mlflow(exp, folder, summary)
    assert not [c for c in fake.calls if c[0] in ("log_artifact", "log_params", "log_metrics")]


def test_is_local_uri_for_artifact_locations():
    local = _experiment.is_local_uri
    assert local("file:///home/me/mlruns/0/abc/artifacts")
    assert local("./mlruns/0/abc/artifacts")
    for uri in ("http://x/a", "mlflow-artifacts:/0/abc", "s3://b/a", "sqlite:///x.db"):
        assert not local(uri)


# -- 2. names: the whole string, no trailing newline -----------------------------------------
def test_an_experiment_name_with_a_trailing_newline_is_refused(tmp_path):
    with pytest.raises(ExperimentError, match=r"key 'name'.*got 'demo\\n'"):
        parse_experiment(_raw(name="demo\n"), tmp_path)


def test_a_model_name_with_a_trailing_newline_is_refused(tmp_path):
    models = [{"name": "hgb\n", "kind": "gradient_boosting"}]
    with pytest.raises(ExperimentError, match=r"\[\[models\]\] #1 key 'name'.*got 'hgb\\n'"):
        parse_experiment(_raw(models=models), tmp_path)


def test_a_toml_key_with_a_trailing_newline_is_quoted():
    assert toml_key("key\n") == '"key\\n"'
    assert toml_key("key") == "key"
    assert tomllib.loads(toml_key("key\n") + " = 1") == {"key\n": 1}


# -- 3. the report reads the run folder only ---------------------------------------------------
@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    return make_run_module.make_run(
        tmp_path_factory.mktemp("runs"),
        models={"physics": "physics", "HGB": "gradient_boosting"},
    )


@pytest.fixture
def secret(tmp_path):
    file = tmp_path / "outside" / "secret.csv"
    file.parent.mkdir()
    file.write_text("row,observed,predicted,DateTime,Depth\n0,424242,424242,2024-01-01,1\n")
    return file


def test_a_linked_predictions_file_is_not_read(run, secret):
    preds = run / "units" / "HGB__fold0" / "predictions.csv"
    preds.unlink()
    preds.symlink_to(secret)
    data = load_run(run)
    unit = next(u for u in data.units if u.model == "HGB" and u.fold == 0)
    assert unit.predictions is None
    assert "units/HGB__fold0/predictions.csv is a symbolic link; not read." in data.skipped
    assert 424242 not in data.predictions.get("observed", []).tolist()
    page = render_report(run).read_text()  # the report still renders, without the linked file
    assert "units/HGB__fold0/predictions.csv is a symbolic link; not read." in page


def test_a_linked_unit_folder_is_not_read(run, secret, tmp_path):
    outside = tmp_path / "outside" / "unit"
    shutil.copytree(run / "units" / "HGB__fold1", outside)
    shutil.copy(secret, outside / "predictions.csv")
    shutil.rmtree(run / "units" / "HGB__fold1")
    (run / "units" / "HGB__fold1").symlink_to(outside, target_is_directory=True)
    data = load_run(run)
    assert ("HGB", 1) not in [(u.model, u.fold) for u in data.units]
    assert "units/HGB__fold1 is a symbolic link; not read." in data.skipped


def test_linked_files_of_the_run_folder_are_not_read(run, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("summary.csv", "data_card.json", "experiment.toml"):
        shutil.move(run / name, outside / name)
        (run / name).symlink_to(outside / name)
    data = load_run(run)
    assert data.summary is None and data.data_card is None and data.experiment == {}
    assert {f"{n} is a symbolic link; not read." for n in ("summary.csv", "data_card.json",
            "experiment.toml")} <= set(data.skipped)  # fmt: skip


@pytest.mark.parametrize("fold", ["x", None, 1.5, True, -1, [0]])
def test_a_bad_fold_is_an_error_naming_the_file(run, fold):
    file = run / "units" / "HGB__fold0" / "metrics.json"
    metrics = json.loads(file.read_text())
    metrics["fold"] = fold
    file.write_text(json.dumps(metrics))
    expected = f"run file '{file}' is corrupt: expected key 'fold' to be a fold number"
    with pytest.raises(RunError, match=re.escape(expected)):
        load_run(run)


@pytest.mark.parametrize(
    "content",
    [b"", b'row,observed\n"0,1\n', b"row,observed\n\xff\xfe,1\n", b"a,b\n1,2\n1,2,3\n"],
)
def test_an_unreadable_predictions_file_is_an_error_naming_the_file(run, content):
    file = run / "units" / "HGB__fold0" / "predictions.csv"
    file.write_bytes(content)
    expected = f"run file '{file}' is corrupt: expected a CSV table of predictions"
    with pytest.raises(RunError, match=re.escape(expected)):
        load_run(run)
    with pytest.raises(RunError, match=re.escape(expected)):
        render_report(run)
    assert not (run / "report.html").exists()
