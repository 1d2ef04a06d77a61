"""The report and the learning curves on the edge cases a run folder from elsewhere brings."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from tgds.plot import learning_curves
from tgds.report import figures, render_report
from tgds.report._plots import unit_text
from tgds.runs import RunError
from tgds.theory import Theory

_spec = importlib.util.spec_from_file_location(
    "tgds_test_make_run_review", Path(__file__).parent / "fixtures" / "make_run.py"
)
make_run_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_run_module)
make_run = make_run_module.make_run


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """Two models (one neural), one fold: small enough to copy and damage in each test."""
    models = {"physics": "physics", "PGNN": "neural"}
    return make_run(tmp_path_factory.mktemp("review"), models=models, n_folds=1)


def _edit_json(path: Path, **changes) -> None:
    value = json.loads(path.read_text())
    value.update(changes)
    path.write_text(json.dumps(value))


def test_a_lone_surrogate_in_a_json_file_is_shown_not_a_crash(run):
    # JSON may hold "\ud800", which UTF-8 cannot encode; so may a non-UTF-8 folder name
    _edit_json(run / "status.json", error="bad \ud800 thing")
    for path in run.glob("units/PGNN__fold*/metrics.json"):
        _edit_json(path, model="PG\udcffNN")
    (run / "summary.csv").unlink()
    page = render_report(run).read_text(encoding="utf-8")
    assert r"bad \ud800 thing" in page
    assert r"PG\udcffNN" in page
    assert len(re.findall(r"<img\b", page)) >= 4, "every figure was drawn"


def test_a_violation_rate_of_100_percent_is_labelled_100_percent(run):
    for path in run.glob("units/*/metrics.json"):
        metrics = json.loads(path.read_text())
        for rec in metrics["audit"]:
            rec["rate"] = 1.0
        path.write_text(json.dumps(metrics))
    labels = {t.get_text() for t in figures(run)["violations"].axes[0].texts}
    assert labels == {"100%"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"loss": "abc"}, "expected key 'loss' to be a list of at most"),
        ({"loss": [{"a": 1}]}, "expected key 'loss' to be a list of at most"),
        ({"data": [1.0] * 500}, "expected key 'data' to be a list of at most "),
        ({"epoch": 3}, "expected key 'epoch' to be a list of epoch numbers; found 3."),
    ],
    ids=["a string", "objects", "more values than epochs", "a number of epochs"],
)
def test_a_damaged_history_is_an_error_naming_the_file(run, change, words):
    path = next(run.glob("units/PGNN__fold*/history.json"))
    _edit_json(path, **change)
    with pytest.raises(RunError, match=re.escape(f"run file '{path}' is corrupt: ")) as err:
        render_report(run)
    assert words in str(err.value)
    assert not (run / "report.html").exists()


def test_a_history_with_missing_values_still_draws(run):
    path = next(run.glob("units/PGNN__fold*/history.json"))
    history = json.loads(path.read_text())
    history["data"][1] = None  # a value that could not be recorded
    history["val_data"] = history["val_data"][:-2]  # recorded for fewer epochs
    path.write_text(json.dumps(history))
    assert "learning_curves" in figures(run)


def test_a_summary_without_some_criteria_still_renders(run):
    summary = pd.read_csv(run / "summary.csv")
    summary.drop(columns=["complexity", "consistency"]).to_csv(run / "summary.csv", index=False)
    page = render_report(run).read_text(encoding="utf-8")
    assert "ranks first overall" in page
    assert "Most accurate: <b>" in page
    assert "most consistent" not in page and "simplest" not in page


def test_an_offset_temperature_relation_is_labelled_in_degrees_not_as_a_difference():
    lake = make_run_module.LAKE_THEORY.read_text()
    theory = Theory.from_toml(
        lake
        + '\n[relations.surface_temp]\nexpression = "Observed_temp"\nunit = "degC"\n'
        + '\n[relations.excess]\nexpression = "Observed_temp - AirTemp"\n'
    )
    assert unit_text(theory, "Observed_temp") == "°C"
    assert unit_text(theory, "surface_temp") == "°C"  # a temperature, as its declared unit says
    assert unit_text(theory, "excess") == "Δ°C"  # a difference of two temperatures
    assert unit_text(theory, "RelHum") == "%"
    assert unit_text(theory, "growing_deg_days") == ""


class _Fitted:
    def __init__(self, **history):
        self.history_ = {"epoch": [1.0, 2.0, 3.0, 4.0], **history}


def test_learning_curves_on_a_log_axis_do_not_draw_non_positive_losses():
    model = _Fitted(loss=[1.0, 0.5, 0.2, 0.1], data=[1.0, 0.5, 0.0, -0.1])
    ax = Figure().subplots()
    learning_curves(model, ax=ax)
    ax.figure.canvas.draw()
    (line,) = [line for line in ax.get_lines() if line.get_label() == "data"]
    y = line.get_transform().transform(line.get_xydata())[:, 1]
    y = y[np.isfinite(y)]
    assert len(y) == 2, "the zero and the negative value are left out"
    assert y.min() >= ax.bbox.y0 - 1, "no point is drawn far below the axes"


def test_learning_curves_keep_non_positive_losses_on_a_linear_axis():
    model = _Fitted(loss=[1.0, 0.5, 0.2, 0.1], data=[1.0, 0.5, 0.0, -0.1])
    ax = Figure().subplots()
    learning_curves(model, ax=ax, log=False)
    (line,) = [line for line in ax.get_lines() if line.get_label() == "data"]
    assert list(line.get_ydata()) == [1.0, 0.5, 0.0, -0.1]


def test_learning_curves_of_an_unfitted_model_say_to_fit_it():
    from tgds.exceptions import DataError
    from tgds.models import TheoryGuidedRegressor

    with pytest.raises(
        DataError, match=r"got a TheoryGuidedRegressor that has no history_: fit it first"
    ) as err:
        learning_curves(TheoryGuidedRegressor())
    assert "TheoryGuidedClassifier" in str(err.value)


def test_a_data_issue_about_the_whole_table_is_shown_as_data(run):
    card = json.loads((run / "data_card.json").read_text())
    card["issues"] = [
        {
            "column": "",
            "kind": "duplicate_rows",
            "severity": "warning",
            "message": "2 row(s) repeat",
        }
    ]
    (run / "data_card.json").write_text(json.dumps(card))
    page = render_report(run).read_text(encoding="utf-8")
    assert "<code>data</code>: 2 row(s) repeat" in page
