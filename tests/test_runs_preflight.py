"""What `tgds run` checks before it makes a run folder, and how the CLI names what failed.

An experiment on a tiny cooling-cup table (Newton's law of cooling, 60 rows): NaN or
infinite inputs, constraint-name typos, a physics model without outputs and `[validation]`
column typos are refused when the experiment and its data are read, with messages naming
the file, the `[[models]]` entry or key, and the data; a failed run's error is shown by
`tgds runs show`; run-store paths that are not run folders are named as such.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _cups import THEORY, _cups
from tgds.cli import app
from tgds.exceptions import DataError
from tgds.runs import ExperimentError, RunFolder, RunIndex, load_experiment

runner = CliRunner()


PHYSICS = '[[models]]\nname = "physics"\nkind = "physics"\n'
NN = '[[models]]\nname = "NN"\nkind = "neural"\nhidden = [4]\nepochs = 2\nrandom_state = 0\n{nn}\n'
HGB = '[[models]]\nname = "HGB"\nkind = "gradient_boosting"\nmax_iter = 3\n'

EXPERIMENT = """
name = "cups"
{top}
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
    folder: Path,
    models: str = PHYSICS + NN + HGB,
    *,
    nn: str = "",
    validation: str = 'kind = "holdout"\ntime = "t"',
    top: str = "",
    data: pd.DataFrame | None = None,
) -> Path:
    (folder / "cooling.toml").write_text(THEORY)
    (_cups() if data is None else data).to_csv(folder / "cups.csv", index=False)
    path = folder / "exp.toml"
    text = EXPERIMENT.replace("{models}", models.replace("{nn}", nn))
    path.write_text(text.replace("{validation}", validation).replace("{top}", top))
    return path


def _refused(path: Path, *words: str) -> str:
    """`tgds run path` exits 2 before making a run folder, with ``words`` in the message."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # none may leak out
        result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 2, result.output
    for w in words:
        assert w in result.output, result.output
    assert not (path.parent / "runs").exists(), "a run folder was made"
    return result.output


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A complete run of the three kinds on the cups (2 epochs)."""
    folder = tmp_path_factory.mktemp("cups")
    path = _setup(folder)
    result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (folder / "runs").iterdir() if p.is_dir()]
    return folder, run


# -- 1a. NaN or infinite inputs ---------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize(
    ("models", "entry", "kind"),
    [(PHYSICS + NN, "[[models]] #1 (physics)", "physics"), (HGB + NN, "[[models]] #2 (NN)", "neural")],
)  # fmt: skip
def test_a_non_finite_input_is_refused_naming_the_model_column_file_and_row(
    tmp_path, bad, models, entry, kind
):
    data = _cups()
    data.loc[3, "T_room"] = bad
    path = _setup(tmp_path, models, data=data)
    _refused(
        path,
        f"experiment file '{path}', {entry}",
        "input column 'T_room' must hold finite numbers",
        f"a {kind} model takes no NaN or infinite value",
        f"data file '{tmp_path / 'cups.csv'}'",
        "1 row (row 3, counting from 0)",
    )


def test_gradient_boosting_still_takes_missing_inputs(tmp_path):
    data = _cups()
    data.loc[3, "T_room"] = np.nan
    path = _setup(tmp_path, HGB.replace("max_iter = 3", 'max_iter = 3\ninputs = ["t", "T_room"]'))
    result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output


def test_an_infinite_target_is_refused(tmp_path):
    data = _cups()
    data.loc[[5, 7], "T"] = np.inf
    path = _setup(tmp_path, HGB, data=data)
    _refused(path, "target column 'T' holds infinite values in 2 rows (row 5, 7")


def test_a_neural_input_missing_from_the_unlabeled_points_is_refused(tmp_path):
    path = _setup(tmp_path, NN)
    _cups().drop(columns=["T0"]).to_csv(tmp_path / "grid.csv", index=False)
    path.write_text(
        path.read_text().replace('path = "cups.csv"', 'path = "cups.csv"\nunlabeled = "grid.csv"')
    )
    _refused(path, "[[models]] #1 (NN) key 'inputs'", "needs the input column(s) ['T0']",
             "unlabeled points ([data] unlabeled = ")  # fmt: skip


# -- 1b. what the models ask of the theory, checked when the file is read -----------------------
@pytest.mark.parametrize(
    ("nn", "words"),
    [
        ('physics = ["cool_down"]', ["[[models]] #2 (NN) key 'physics'", "['cool_down']", "['cooling']"]),
        ("physics_weight = { cool_down = 2.0 }", ["[[models]] #2 (NN) key 'physics_weight'", "['cool_down']"]),
        ('inputs = ["t", "Troom"]', ["[[models]] #2 (NN) key 'inputs'", "['Troom']", "'T_room'"]),
    ],
)  # fmt: skip
def test_a_neural_setting_the_theory_lacks_is_refused_when_the_file_is_read(tmp_path, nn, words):
    path = _setup(tmp_path, nn=nn)
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    message = str(caught.value)
    assert message.startswith(f"experiment file '{path}', "), message
    assert all(w in message for w in words), message
    assert f"the theory file '{tmp_path / 'cooling.toml'}'" in message
    _refused(path, *words)


def test_a_failed_run_with_a_constraint_typo_is_refused_on_resume_naming_its_experiment(tmp_path):
    """Run folders made before the check: `--resume` names the frozen file and the key."""
    path = _setup(tmp_path, nn='physics = ["cool_down"]')
    text = path.read_text().replace('"cups.csv"', repr(str(tmp_path / "cups.csv")))
    text = text.replace('"cooling.toml"', repr(str(tmp_path / "cooling.toml")))
    folder = RunIndex(tmp_path / "runs").create("cups", files={"experiment.toml": text})
    folder.set_status("failed", error="TheoryError: physics names unknown constraint(s)")
    result = runner.invoke(app, ["run", "--resume", str(folder.path), "--quiet"])
    assert result.exit_code == 2, result.output
    frozen = folder.path / "experiment.toml"
    assert f"experiment file '{frozen}', [[models]] #2 (NN) key 'physics'" in result.output


# -- 1c. kind = "physics" needs a physics model with outputs ------------------------------------
def test_a_physics_model_of_an_ode_is_refused_when_the_file_is_read(tmp_path):
    path = tmp_path / "lv.toml"
    path.write_text(
        'name = "lv"\n[data]\nsource = "bundled:lotka_volterra"\n[theory]\n'
        'bundled = "lotka_volterra"\n[validation]\nkind = "holdout"\ntime = "Year"\n' + PHYSICS
    )
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    message = str(caught.value)
    assert f"experiment file '{path}', [[models]] #1 (physics) key 'kind'" in message
    assert "the bundled theory 'lotka_volterra' has a physics model with rates (an ODE)" in message
    assert "Use kind = 'neural' or 'gradient_boosting'" in message


def test_a_physics_model_without_physics_is_refused(tmp_path):
    path = _setup(tmp_path)
    (tmp_path / "cooling.toml").write_text(THEORY.split("[physics_model]")[0])
    with pytest.raises(
        ExperimentError, match=r"#1 \(physics\) key 'kind'.* has no \[physics_model\]"
    ):
        load_experiment(path)


def test_a_target_the_theory_does_not_declare_is_refused(tmp_path):
    path = _setup(tmp_path, HGB, top='target = "T0"')
    with pytest.raises(
        ExperimentError, match=r"key 'target': expected a target variable .*\['T'\]; got 'T0'"
    ):
        load_experiment(path)


# -- 1d. a model that fails inside a fold anyway ------------------------------------------------
def test_a_tgds_error_inside_a_fold_names_the_model_the_fold_and_the_data_file(
    tmp_path, monkeypatch
):
    from tgds.runs import _runner

    class Broken:
        def fit(self, X, y, **kwargs):
            raise DataError("X lacks the input column(s) ['T0']; it has ['t'].")

    monkeypatch.setattr(_runner, "build_model", lambda spec, theory, target, unit: Broken())
    path = _setup(tmp_path, HGB)
    result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "model 'HGB' (gradient_boosting) failed on fold 0: DataError: " in result.output
    assert f"data file '{tmp_path / 'cups.csv'}' lacks the input column(s) ['T0']" in result.output


# -- 2. runs show prints a failed run's error -------------------------------------------------
def test_runs_show_prints_the_error_of_a_failed_run(tmp_path):
    folder = RunIndex(tmp_path / "runs").create("cups", files={"experiment.toml": ""})
    folder.set_status("failed", error="RunError: model 'NN' (neural) failed on fold 0: boom\x1b[2J")
    result = runner.invoke(app, ["runs", "show", folder.id, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert ": failed (" in result.output
    assert "error: RunError: model 'NN' (neural) failed on fold 0: boom\\x1b[2J" in result.output
    assert "\x1b" not in result.output  # a stored error does not drive the terminal


def test_runs_show_of_a_complete_run_prints_no_error(finished):
    _, run = finished
    result = runner.invoke(app, ["runs", "show", str(run)])
    assert result.exit_code == 0 and "complete" in result.output, result.output
    assert "error" not in result.output


# -- 3. paths that are not run folders or run stores ------------------------------------------
def test_a_folder_that_is_not_a_run_folder_is_named_so(tmp_path, finished):
    folder, _ = finished
    plain = tmp_path / "plain"
    plain.mkdir()
    result = runner.invoke(app, ["report", str(plain), "--runs-dir", str(folder / "runs")])
    assert result.exit_code == 2, result.output
    assert f"the folder '{plain}' exists but is not a tgds run folder" in result.output
    assert "it has no status.json" in result.output


@pytest.mark.parametrize("command", [["run", "{exp}"], ["runs", "list"], ["report", "x"]])
def test_a_runs_dir_that_is_a_file_is_named_so(tmp_path, command):
    path = _setup(tmp_path, HGB)
    command = [c.replace("{exp}", str(path)) for c in command]
    result = runner.invoke(app, [*command, "--runs-dir", str(tmp_path / "cups.csv")])
    assert result.exit_code == 2, result.output
    assert f"the runs directory '{tmp_path / 'cups.csv'}' is a file, not a folder" in result.output
    assert "File exists" not in result.output


def test_a_run_folder_by_path_works_with_a_runs_dir_that_is_a_file(tmp_path, finished):
    _, run = finished
    (tmp_path / "x.csv").write_text("a\n")
    result = runner.invoke(app, ["runs", "show", str(run), "--runs-dir", str(tmp_path / "x.csv")])
    assert result.exit_code == 0, result.output


# -- 4. [validation] columns are checked against the data ---------------------------------------
@pytest.mark.parametrize(
    ("validation", "words"),
    [
        ('kind = "holdout"\ntime = "time"', ["[validation] key 'time': 'time' is not a column"]),
        ('kind = "blocked_time"\ntime = "time"\nn_splits = 2', ["[validation] key 'time'"]),
        ('kind = "regime"\nby = "T0 - Troom"', ["[validation] key 'by'", "uses ['Troom']", "Did you mean ['T_room']?"]),
        ('kind = "regime"\nby = "T0 -"', ["[validation] key 'by'", "nor an expression of its columns"]),
        ('kind = "extrapolation"\nvariable = "t0"', ["[validation] key 'variable'", "Did you mean ['T0']?"]),
    ],
)  # fmt: skip
def test_a_validation_column_the_data_lacks_is_refused_naming_the_key(tmp_path, validation, words):
    path = _setup(tmp_path, HGB, validation=validation)
    output = _refused(path, f"experiment file '{path}'", f"data file '{tmp_path / 'cups.csv'}'",
                      *words)  # fmt: skip
    assert "its columns: ['t', 'T_room', 'T0', 'T']" in output


def test_a_splitter_error_names_the_validation_table(tmp_path):
    path = _setup(tmp_path, HGB, validation='kind = "regime"\nby = "T0 - T_room"\nn_splits = 9')
    _refused(path, f"experiment file '{path}', [validation] (kind = 'regime'): RegimeSplit")


def test_an_expression_of_columns_splits_by_regime(tmp_path):
    path = _setup(tmp_path, HGB, validation='kind = "regime"\nby = "T0 - T_room"\nbins = 2')
    result = runner.invoke(app, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output


# -- 5. the CLI names the data file where the library says X ---------------------------------
@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("NN", "data file '{csv}' lacks the input column(s) ['T0']"),
        ("HGB", "cannot predict on this data: data file '{csv}' lacks the input column(s) ['T0']"),
        ("physics", "data file '{csv}' has no column 'T0'"),
    ],
)
def test_predict_names_the_data_file_that_lacks_an_input(finished, tmp_path, model, words):
    _, run = finished
    csv = tmp_path / "new.csv"
    _cups().drop(columns=["T0"]).to_csv(csv, index=False)
    result = runner.invoke(app, ["predict", str(run), str(csv), "--model", model])
    assert result.exit_code == 2, result.output
    assert words.replace("{csv}", str(csv)) in result.output, result.output
    assert not re.search(r"\bX (lacks|has)", result.output)


def test_the_finished_run_predicts(finished, tmp_path):
    _, run = finished
    csv = tmp_path / "new.csv"
    _cups().to_csv(csv, index=False)
    result = runner.invoke(app, ["predict", str(run), str(csv), "--model", "NN"])
    assert result.exit_code == 0, result.output
    assert RunFolder(run).status()["state"] == "complete"
