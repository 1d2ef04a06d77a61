"""`tgds predict` scores its predictions where the data hold the run's target, and warns
where the new inputs lie outside the theory's bounds or the range of the run's data.

One tiny run on a cooling-cup table (Newton's law of cooling, 60 rows): a physics model,
a neural network of two inputs (2 epochs) and gradient boosting (3 iterations).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _cups import _cups
from tgds.cli import app
from tgds.runs import PredictionWarning, RunFolder, predict_with_run

runner = CliRunner()

THEORY = """
name = "cooling"

[variables.t]
unit = "s"
role = "time"
bounds = [0.0, 100.0]

[variables.T_room]
unit = "degC"
bounds = [-30.0, 50.0]

[variables.T0]
unit = "degC"
bounds = [0.0, 100.0]

[variables.T]
unit = "degC"
role = "target"

[parameters.k]
unit = "1/s"
value = 0.1

[physics_model]
outputs = { T = "T_room + (T0 - T_room)*exp(-k*t)" }
"""

EXPERIMENT = """
name = "cups"

[data]
path = "cups.csv"

[theory]
path = "cooling.toml"

[validation]
kind = "holdout"
time = "t"

[[models]]
name = "physics"
kind = "physics"

[[models]]
name = "NN"
kind = "neural"
inputs = ["t", "T0"]
hidden = [4]
epochs = 2
random_state = 0

[[models]]
name = "HGB"
kind = "gradient_boosting"
inputs = ["t", "T_room", "T0"]
max_iter = 3

[outputs]
dir = "runs"
"""


@pytest.fixture(scope="module")
def source_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cups")
    (folder / "cooling.toml").write_text(THEORY)
    _cups().to_csv(folder / "cups.csv", index=False)
    (folder / "exp.toml").write_text(EXPERIMENT)
    result = runner.invoke(app, ["run", str(folder / "exp.toml"), "--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (folder / "runs").iterdir() if p.is_dir()]
    return run


def _predict(run: Path, data: pd.DataFrame, model: str) -> tuple[pd.DataFrame, object, list[str]]:
    """``predict_with_run``'s frame and report, and the PredictionWarning texts."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, report = predict_with_run(RunFolder(run), data, model=model)
    notes = [str(w.message) for w in caught if issubclass(w.category, PredictionWarning)]
    return frame, report, notes


def _rmse(predicted: pd.Series, observed: pd.Series) -> float:
    return float(np.sqrt(np.mean((predicted.to_numpy() - observed.to_numpy()) ** 2)))


# -- scoring -----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["physics", "NN", "HGB"])
def test_the_runs_own_data_is_scored_without_warnings(source_run, model):
    data = _cups()
    frame, report, notes = _predict(source_run, data, model)
    assert report.rmse == pytest.approx(_rmse(frame["predicted"], data["T"]), rel=1e-12)
    assert f"RMSE {report.rmse:.4g}" in str(report)
    assert notes == []  # every input within the bounds and the data card's range


def test_rows_without_an_observation_are_left_out_of_the_rmse(source_run):
    data = _cups().astype({"T": object})
    data.loc[[3, 7], "T"] = [np.nan, "n/a"]
    frame, report, notes = _predict(source_run, data, "HGB")
    kept = data["T"].map(lambda v: isinstance(v, float) and np.isfinite(v)).to_numpy()
    expected = _rmse(frame["predicted"][kept], data["T"][kept].astype(float))
    assert report.rmse == pytest.approx(expected, rel=1e-12)
    assert report.n_rows == 60  # every row is audited
    (note,) = notes
    assert note.startswith("RMSE over 58 of 60 rows: the target column 'T' has no finite number")
    assert "finite number in rows 3, 7 (counting from 0); those rows are predicted" in note


def test_a_target_column_without_numbers_gives_no_rmse_and_says_why(source_run):
    data = _cups().assign(T=np.nan)
    _, report, notes = _predict(source_run, data, "HGB")
    assert report.rmse is None
    assert notes == [
        "no RMSE: the target column 'T' has no finite number in any of the 60 rows; "
        "expected observations to score the predictions against."
    ]


# -- extrapolation -----------------------------------------------------------------------------
def _later(data: pd.DataFrame) -> pd.DataFrame:
    """The cups watched up to 45 s: t beyond the run's data (0 to 27 s), within the bounds."""
    data = data.copy()
    data.loc[[9, 19, 29], "t"] = 45.0
    return data


@pytest.mark.parametrize("model", ["NN", "HGB"])
def test_inputs_beyond_the_runs_data_range_are_named(source_run, model):
    _, report, notes = _predict(source_run, _later(_cups()), model)
    assert notes == [
        "the input column 't' has 3 of 60 rows outside [0, 27], the range of the run's data "
        "(data_card.json): rows 9, 19, 29 (counting from 0); got values from 0 to 45. "
        f"Model {model!r} extrapolates there."
    ]
    assert report.rmse is not None


def test_inputs_beyond_the_theorys_bounds_are_named_with_both_ranges(source_run):
    data = _cups()
    data.loc[4, "T_room"] = 60.0
    _, _, notes = _predict(source_run, data, "HGB")
    assert len(notes) == 2, notes
    bounds, card = notes
    assert bounds.startswith(
        "the input column 'T_room' has 1 of 60 rows outside [-30, 50], the theory's bounds "
        "for 'T_room': row 4 (counting from 0); got values from "
    )
    assert bounds.endswith(" to 60. Model 'HGB' extrapolates there.")
    low, high = float(_cups()["T_room"].min()), float(_cups()["T_room"].max())
    assert f"outside [{low!r}, {high!r}], the range of the run's data (data_card.json)" in card


def test_only_the_models_own_inputs_are_checked(source_run):
    data = _later(_cups())
    data.loc[4, "T_room"] = 60.0  # not an input of NN
    _, _, nn = _predict(source_run, data, "NN")
    _, _, hgb = _predict(source_run, data, "HGB")
    assert [n.split(" has ")[0] for n in nn] == ["the input column 't'"]
    assert [n.split(" has ")[0] for n in hgb] == ["the input column 't'"] + [
        "the input column 'T_room'"
    ] * 2


def test_a_physics_model_is_checked_against_the_theorys_bounds_only(source_run):
    data = _later(_cups())  # beyond the data, which a physics model is not trained on
    data.loc[4, "T0"] = 120.0
    _, _, notes = _predict(source_run, data, "physics")
    assert len(notes) == 1, notes
    assert notes[0].startswith(
        "the input column 'T0' has 1 of 60 rows outside [0, 100], the theory's bounds for 'T0'"
    )


def _no_minimum(card: Path) -> None:
    data = json.loads(card.read_text())
    data["columns"] = [{k: v for k, v in c.items() if k != "minimum"} for c in data["columns"]]
    card.write_text(json.dumps(data))


@pytest.mark.parametrize("edit", [_no_minimum, Path.unlink], ids=["no-minimum", "no-card"])
def test_a_data_card_without_column_ranges_still_checks_the_bounds(run, edit):
    edit(run / "data_card.json")
    data = _later(_cups())
    data.loc[4, "T0"] = 120.0
    _, report, notes = _predict(run, data, "HGB")
    assert len(notes) == 1 and "the theory's bounds for 'T0'" in notes[0], notes
    assert report.rmse is not None


# -- the command line ------------------------------------------------------------------------
def test_the_cli_prints_the_rmse_and_a_warning_line_each_time(source_run, tmp_path):
    csv = tmp_path / "new.csv"
    _later(_cups()).to_csv(csv, index=False)
    out = tmp_path / "pred.csv"
    for _ in range(2):  # a warning is printed on every call, not once per process
        result = runner.invoke(app, ["predict", str(source_run), str(csv), "--model", "HGB", "-o", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert (
            f"warning: data file '{csv}': the input column 't' has 3 of 60 rows outside [0, 27]"
            in result.output
        )
        assert result.output.count("warning:") == 1
        assert "Consistency audit of 60 rows: score" in result.output
        assert ", RMSE " in result.output
    assert list(pd.read_csv(out).columns) == ["t", "predicted"]


def test_the_cli_says_how_many_rows_it_scored(source_run, tmp_path):
    csv = tmp_path / "new.csv"
    data = _cups()
    data.loc[[0, 1, 2], "T"] = np.nan
    data.to_csv(csv, index=False)
    result = runner.invoke(app, ["predict", str(source_run), str(csv), "--model", "NN"])
    assert result.exit_code == 0, result.output
    assert f"warning: data file '{csv}': RMSE over 57 of 60 rows" in result.output
    assert ", RMSE " in result.output
