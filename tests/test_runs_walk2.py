"""A second new-user walk through `tgds run`, `runs` and `predict`, and `RegimeSplit`.

On the tiny cooling-cup table of tests/test_runs_preflight.py (Newton's law of cooling,
60 rows): a run repeats without a `random_state` in the experiment file (and an old run
folder without one resumes as recorded); `runs compare` and `predict` of a run without a
summary name its state; `runs list` shows a missing best model as `-`; `predict` names the
data file whose input column holds text; `RegimeSplit` refuses a continuous `by` without
`bins`.
"""

from __future__ import annotations

import json
import socket
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _cups import THEORY, _cups
from tgds.cli import app
from tgds.exceptions import DataError
from tgds.runs import RunFolder, RunIndex, execute, predict_with_run
from tgds.runs._experiment import parse_experiment
from tgds.runs._store import RunError
from tgds.selection import RegimeSplit
from tgds.theory import Relation, Theory, Variable

runner = CliRunner()


PHYSICS = '[[models]]\nname = "physics"\nkind = "physics"\n'
# no random_state: the run fills it in
NN = '[[models]]\nname = "NN"\nkind = "neural"\nhidden = [4]\nepochs = 3\ncheckpoint_every = 1\n'
HGB = '[[models]]\nname = "HGB"\nkind = "gradient_boosting"\nmax_iter = 3\n'

EXPERIMENT = """
name = "cups"

[data]
path = "cups.csv"

[theory]
path = "cooling.toml"

[validation]
{validation}

{models}
[outputs]
dir = "runs"
"""


def _setup(
    folder: Path, models: str = NN + HGB, validation: str = 'kind = "holdout"\ntime = "t"'
) -> Path:
    (folder / "cooling.toml").write_text(THEORY)
    _cups().to_csv(folder / "cups.csv", index=False)
    path = folder / "exp.toml"
    path.write_text(EXPERIMENT.replace("{models}", models).replace("{validation}", validation))
    return path


def _run(*args: str) -> Path:
    """`tgds run ARGS --quiet`, which must succeed; the run folder it made or resumed."""
    result = runner.invoke(app, ["run", *args, "--quiet"])
    assert result.exit_code == 0, result.output
    return Path(result.output.split("run folder: ")[1].split("\n")[0].strip())


def _rmse(run: Path, model: str = "NN") -> float:
    return json.loads((run / "units" / f"{model}__fold0" / "metrics.json").read_text())["rmse"]


def _predictions(run: Path, model: str = "NN") -> np.ndarray:
    return pd.read_csv(run / "units" / f"{model}__fold0" / "predictions.csv")[
        "predicted"
    ].to_numpy()


def _reopen(run: Path, unit: str, *, checkpoint: bool) -> None:
    """Make ``run`` a failed run whose ``unit`` is to be trained again (from its checkpoint,
    or from the start)."""
    (run / "units" / unit / "metrics.json").unlink()
    if not checkpoint:
        (run / "units" / unit / "checkpoint.tgds").unlink()
    (run / "summary.csv").unlink()
    RunFolder(run).set_status("failed", error="RunError: interrupted")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A complete run of the three kinds on the cups, the neural model without a seed."""
    folder = tmp_path_factory.mktemp("cups")
    return folder, _run(str(_setup(folder, PHYSICS + NN + HGB)))


# -- 1. a run repeats ------------------------------------------------------------------------
def test_the_resolved_experiment_records_the_seeds(finished):
    _, run = finished
    resolved = tomllib.loads((run / "experiment.toml").read_text())
    seeds = {m["name"]: m.get("random_state") for m in resolved["models"]}
    assert seeds == {"physics": None, "NN": 0, "HGB": 0}


def test_running_an_experiment_twice_gives_the_same_results(finished):
    folder, run = finished
    again = _run(str(folder / "exp.toml"))
    assert again != run
    assert _rmse(again) == _rmse(run)
    np.testing.assert_array_equal(_predictions(again), _predictions(run))
    np.testing.assert_array_equal(_predictions(again, "HGB"), _predictions(run, "HGB"))


def test_a_rerun_of_the_resolved_file_and_a_resume_repeat_the_run(finished, tmp_path):
    _, run = finished
    rerun = _run(str(run / "experiment.toml"), "--runs-dir", str(tmp_path / "runs"))
    assert _rmse(rerun) == _rmse(run)
    _reopen(rerun, "NN__fold0", checkpoint=False)  # trained again from the start
    resumed = _run("--resume", str(rerun))
    assert resumed == rerun and RunFolder(rerun).status()["state"] == "complete"
    assert _rmse(rerun) == _rmse(run)
    np.testing.assert_array_equal(_predictions(rerun), _predictions(run))


def test_a_run_folder_without_a_recorded_seed_resumes_as_recorded(tmp_path):
    """A folder written before seeds were filled in: its neural unit's checkpoint was
    written with random_state unset, and resuming must not give it a seed it lacked."""
    path = _setup(tmp_path, NN)
    raw = tomllib.loads(path.read_text())
    exp = parse_experiment(raw, tmp_path, path, default_seeds=False)  # as old versions read it
    old = execute(exp, quiet=True).folder.path
    assert "random_state" not in (old / "experiment.toml").read_text()
    before = _rmse(old)
    _reopen(old, "NN__fold0", checkpoint=True)
    _run("--resume", str(old))
    assert RunFolder(old).status()["state"] == "complete"
    assert "random_state" not in (old / "experiment.toml").read_text()
    assert _rmse(old) == before  # the finished checkpoint, with the seed it drew


# -- 2. compare (and predict) a run without a summary -----------------------------------------
def _without_summary(root: Path, state: str) -> RunFolder:
    index = RunIndex(root)
    folder = index.create("cups", files={"experiment.toml": ""})
    if state == "failed":
        folder.set_status("failed", error="RunError: model 'NN' (neural) failed on fold 0")
    else:  # marked running by a process that has ended
        status = json.loads((folder.path / "status.json").read_text())
        status.update(pid=0, host=socket.gethostname())
        (folder.path / "status.json").write_text(json.dumps(status))
    index.record(folder)
    return folder


@pytest.mark.parametrize("state", ["failed", "incomplete"])
def test_compare_with_a_run_without_a_summary_names_its_state(finished, tmp_path, state):
    _, run = finished
    other = _without_summary(tmp_path / "runs", state)
    result = runner.invoke(
        app, ["runs", "compare", str(run), other.id, "--runs-dir", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2, result.output
    assert (
        f"error: run {other.id} has no summary.csv to compare: its state is {state!r}"
        in result.output
    ), result.output
    assert f"tgds run --resume {other.id}" in result.output
    assert "Errno" not in result.output and result.output.count("\n") == 1


def test_predict_with_a_failed_run_names_its_state(tmp_path):
    other = _without_summary(tmp_path / "runs", "failed")
    (other.path / "theory.toml").write_text(THEORY)
    with pytest.raises(RunError, match=f"run {other.id} has no summary.csv .*'failed'"):
        predict_with_run(other, _cups())


# -- 3. runs list ------------------------------------------------------------------------------
@pytest.mark.parametrize("complete", [False, True])
def test_runs_list_shows_a_missing_best_model_as_a_dash(tmp_path, complete):
    index = RunIndex(tmp_path / "runs")
    for name in ("a", "b"):
        folder = index.create(name, files={"experiment.toml": ""})
        folder.set_status("failed", error="boom")
        index.record(folder)
    if complete:
        done = index.create("c", files={"experiment.toml": ""})
        done.set_status("complete")
        index.record(done, best_model="NN")
    frame = index.list()
    assert [m for m in frame["best_model"] if m != "NN"] == [None, None]
    result = runner.invoke(app, ["runs", "list", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "None" not in result.output and "NaN" not in result.output, result.output
    failed = [line.split() for line in result.output.splitlines() if " failed " in line]
    assert len(failed) == 2 and all(row[-1] == "-" for row in failed), result.output


# -- 4. predict on text in an input column ------------------------------------------------------
@pytest.mark.parametrize("model", ["NN", "HGB", "physics"])
def test_predict_names_the_data_file_whose_input_column_holds_text(finished, tmp_path, model):
    _, run = finished
    data = _cups()
    data["T_room"] = data["T_room"].astype(object)
    data.loc[2, "T_room"] = "warm"
    csv = tmp_path / "new.csv"
    data.to_csv(csv, index=False)
    result = runner.invoke(app, ["predict", str(run), str(csv), "--model", model])
    assert result.exit_code == 2, result.output
    assert (
        f"cannot predict on this data: data file '{csv}' has values that are not numbers in "
        "the input column 'T_room': 'warm' in row 2 (counting from 0); expected numbers."
    ) in result.output, result.output
    assert "X column" not in result.output


# -- 5. RegimeSplit on a continuous value -------------------------------------------------------
def _continuous(n: int) -> tuple[pd.DataFrame, Theory]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.uniform(1, 2, n), "b": rng.uniform(1, 2, n)})
    theory = Theory(
        variables=[Variable("a", "m"), Variable("b", "m")],
        relations=[Relation("R_theory", "a / b")],
    )
    return X, theory


@pytest.mark.parametrize("n_splits", [None, 3])
def test_regimes_of_a_continuous_value_without_bins_are_refused(n_splits):
    X, theory = _continuous(400)
    cv = RegimeSplit("R_theory", theory=theory, n_splits=n_splits)
    words = r"RegimeSplit: 'R_theory' has 400 distinct values in 400 rows \(every regime .*bins"
    with pytest.raises(DataError, match=words):
        list(cv.split(X))
    if n_splits is None:
        with pytest.raises(DataError, match=words):
            cv.get_n_splits(X)
    assert RegimeSplit("R_theory", theory=theory, bins=4, n_splits=n_splits).get_n_splits(X) in (
        3,
        4,
    )


def test_the_regime_limit_is_20_or_half_the_rows():
    with pytest.raises(DataError, match="21 distinct values in 21 rows"):
        RegimeSplit("v").get_n_splits(pd.DataFrame({"v": np.arange(21.0)}))
    # labels with up to 20 regimes pass however few their rows; more, with 2 rows each
    assert RegimeSplit("v").get_n_splits(pd.DataFrame({"v": np.arange(20.0)})) == 20
    assert RegimeSplit("v").get_n_splits(pd.DataFrame({"v": ["x", "y", "z"]})) == 3
    pairs = pd.DataFrame({"site": np.repeat(np.arange(30), 2)})
    assert RegimeSplit("site", n_splits=5).get_n_splits(pairs) == 5
    assert len(list(RegimeSplit("site", n_splits=5).split(pairs))) == 5
    with pytest.raises(DataError, match=r"31 distinct values in 60 rows \(2 regimes would"):
        RegimeSplit("site").get_n_splits(pd.DataFrame({"site": [*range(29), *range(31)]}))


def test_a_run_by_a_continuous_regime_is_refused_before_a_run_folder(tmp_path):
    path = _setup(tmp_path, HGB, validation='kind = "regime"\nby = "T"')
    result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 2, result.output
    assert (
        f"experiment file '{path}', [validation] (kind = 'regime'): RegimeSplit: 'T' has 60 "
        "distinct values in 60 rows"
    ) in result.output, result.output
    assert "give bins" in result.output
    assert not (tmp_path / "runs").exists()
