"""The HTML report of a run folder: self-contained, complete, escaped, deterministic."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from tgds.report import figures, load_run, render_report, report_html
from tgds.report._plots import _loss_keys
from tgds.runs import read_summary
from tgds.theory import Theory

_spec = importlib.util.spec_from_file_location(
    "tgds_test_make_run", Path(__file__).parent / "fixtures" / "make_run.py"
)
make_run_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_run_module)
make_run = make_run_module.make_run

EVIL = "<script>alert(1)</script>"
MODELS = {
    "physics": "physics",
    "PGNN": "neural",
    "HGB": "gradient_boosting",
    EVIL: "gradient_boosting",
}
HEADINGS = [
    "Run",
    "Theory",
    "Data card",
    "Model comparison",
    "Learning curves",
    "Parity plots",
    "Residuals",
    "Constraint violations",
    "Profiles",
    "Experiment",
]
IMG = re.compile(r"<img\b[^>]*\bsrc='([^']*)'")
RENDERED = re.compile(r"<span class=\"rendered\">[^<]*</span>")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Four models (one neural, one with a hostile name), two folds, the lake theory."""
    run = make_run(tmp_path_factory.mktemp("runs"), models=MODELS)
    return run, render_report(run).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """No neural model and no monotonic constraint within groups."""
    text = make_run_module.LAKE_THEORY.read_text().replace('within = "DateTime"\n', "")
    theory = Theory.from_toml(text)
    run = make_run(
        tmp_path_factory.mktemp("plain"),
        models={"physics": "physics", "HGB": "gradient_boosting"},
        theory=theory,
    )
    return run, render_report(run).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def full_figures(full_run):
    return figures(full_run[0])


def _pngs(page: str) -> list[bytes]:
    uris = IMG.findall(page)
    assert all(u.startswith("data:image/png;base64,") for u in uris), "every image is a PNG URI"
    return [base64.b64decode(u.split(",", 1)[1], validate=True) for u in uris]


def test_render_writes_report_into_the_run_folder(full_run):
    run, page = full_run
    assert (run / "report.html").read_text(encoding="utf-8") == page
    assert not list(run.glob(".report.html*")), "no temporary file left behind"
    assert page.startswith("<!DOCTYPE html>")


def test_report_is_self_contained(full_run):
    _, page = full_run
    assert not re.search(r"(?i)\b(src|href)\s*=\s*['\"]?\s*(https?:)?//", page)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"(?i)<script|<link|<iframe|@import|url\(", page)
    assert all(h.startswith("#") for h in re.findall(r"href='([^']*)'", page))


def test_every_section_heading_is_present(full_run):
    _, page = full_run
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in page, heading


def test_images_are_valid_non_blank_pngs(full_run, full_figures):
    _, page = full_run
    images = _pngs(page)
    assert len(images) == len(full_figures) >= 6
    for data in images:
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(io.BytesIO(data), format="png")
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 200
        assert pixels[..., :3].std() > 0.05, "the image is not blank"


def test_comparison_values_and_best_model(full_run):
    run, page = full_run
    summary = pd.read_csv(run / "summary.csv", index_col=0)
    for _, row in summary.iterrows():
        assert f">{row['rmse']:.4g}<" in page
        assert f">{row['consistency']:.4f}<" in page
        assert f">{row['violation_rate']:.2%}<" in page
        assert f">{row['rank']:.3g}<" in page
    best = summary.sort_values(["rank", "rmse"]).index[0]
    best_row = re.search(r"<tr class='best'>(.*?)</tr>", page).group(1)
    assert best in best_row and "best</span>" in best_row
    assert page.count("<tr class='best'>") == 1
    assert f"<b>{best}</b> ranks first overall" in page
    assert f"Most accurate: <b>{summary['rmse'].idxmin()}</b>" in page
    assert "mean of the three ranks" in page


def test_hostile_names_are_escaped(full_run):
    _, page = full_run
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()


def test_theory_and_data_card(full_run):
    run, page = full_run
    assert "density_increases_with_depth" in page
    card = json.loads((run / "data_card.json").read_text())
    for column in card["columns"]:
        assert f"<td>{column['name']}</td>" in page
    for issue in card["issues"]:
        assert issue["message"] in page
    assert "<td>[0, 25.3]</td>" in page  # bounds of Depth


def test_figures_have_units_and_consistent_colours(full_run, full_figures):
    run, _ = full_run
    figs = full_figures
    assert set(figs) == {
        "learning_curves",
        "parity",
        "residuals:DateTime",
        "residuals:Depth",
        "violations",
        "profiles:density_increases_with_depth",
    }
    assert all(isinstance(f, Figure) for f in figs.values())
    colours = load_run(run).colours
    parity = [ax for ax in figs["parity"].axes if ax.get_visible()]
    assert len(parity) == len(MODELS)
    assert "(°C)" in parity[0].get_xlabel()
    bars = figs["violations"].axes[0].containers
    bar_colour = {c.get_label(): c.patches[0].get_facecolor()[:3] for c in bars}
    for ax in parity:
        model = ax.get_title().split("\n")[0]
        expected = tuple(int(colours[model][k : k + 2], 16) / 255 for k in (1, 3, 5))
        assert np.allclose(ax.collections[0].get_facecolor()[0][:3], expected, atol=1e-3), model
        assert np.allclose(bar_colour[model], expected, atol=1e-3), model


def test_profiles_draw_depth_downwards(full_figures):
    axes = full_figures["profiles:density_increases_with_depth"].axes
    assert 3 <= len(axes) <= 4
    assert axes[0].yaxis_inverted()
    assert axes[0].get_ylabel() == "Depth (m)"
    assert axes[0].get_xlabel() == "Observed_temp (°C)"


def test_learning_curves_show_every_loss_term(full_run, full_figures):
    run, _ = full_run
    ax = full_figures["learning_curves"].axes[0]
    history = json.loads((run / "units" / "PGNN__fold1" / "history.json").read_text())
    labels = {line.get_label() for line in ax.get_lines()}
    assert labels == set(history) - {"epoch"}
    assert ax.get_yscale() == "log"
    dashed = {line.get_label() for line in ax.get_lines() if line.get_linestyle() == "--"}
    assert dashed == {"val_data"}
    assert "fold 1" in ax.get_title()


def test_optional_sections_are_omitted_with_a_note(plain_run):
    run, page = plain_run
    assert set(figures(run)) == {"parity", "residuals:Depth", "violations"}
    assert "No neural model in this run" in page
    assert "no profile plots" in page
    assert len(_pngs(page)) == 3
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in page


def test_several_targets_get_one_parity_figure_each(plain_run, tmp_path):
    source, _ = plain_run
    run = tmp_path / source.name
    shutil.copytree(source, run)
    for path in run.glob("units/*/predictions.csv"):
        frame = pd.read_csv(path)
        frame["observed:T2"], frame["predicted:T2"] = frame["observed"], frame["predicted"] + 1
        names = {"observed": "observed:Observed_temp", "predicted": "predicted:Observed_temp"}
        frame.rename(columns=names).to_csv(path, index=False)
    figs = figures(run)
    assert {"parity:Observed_temp", "parity:T2", "residuals:T2:Depth"} <= set(figs)
    assert figs["parity:T2"].axes[0].get_xlabel() == "observed T2"  # not in the theory: no unit
    assert figs["parity:Observed_temp"].axes[0].get_xlabel() == "observed Observed_temp (°C)"


def test_rendering_is_deterministic_apart_from_the_timestamp(full_run):
    run, page = full_run
    again = render_report(run).read_text(encoding="utf-8")
    assert RENDERED.search(page)
    assert RENDERED.sub("", page) == RENDERED.sub("", again)


def test_incomplete_run_still_renders(tmp_path):
    run = tmp_path / "20240501-120000-broken-0000"
    run.mkdir()
    (run / "status.json").write_text(
        json.dumps({"state": "failed", "error": "ValueError: <bad> & worse"})
    )
    (run / "theory.toml").write_text("this is [not toml")
    page = render_report(run).read_text(encoding="utf-8")
    assert "theory.toml is missing or could not be read" in page
    assert "ValueError: &lt;bad&gt; &amp; worse" in page
    assert "summary.csv is missing" in page
    assert "2024-05-01 12:00:00" in page
    assert not IMG.findall(page)


def test_a_run_whose_process_died_reads_incomplete(tmp_path):
    # as in `tgds runs show`: a run left "running" by a killed process is not running
    dead = subprocess.Popen(["true"])  # noqa: S603, S607
    dead.wait()  # reaped: its pid names no process
    run = tmp_path / "20240501-120000-killed-0000"
    run.mkdir()
    status = {"state": "running", "pid": dead.pid, "host": socket.gethostname()}
    (run / "status.json").write_text(json.dumps(status))
    assert load_run(run).status["state"] == "incomplete"
    assert "state-incomplete" in render_report(run).read_text(encoding="utf-8")
    status["pid"] = os.getpid()  # alive: still running
    (run / "status.json").write_text(json.dumps(status))
    assert load_run(run).status["state"] == "running"


def test_missing_run_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        report_html(tmp_path / "nope")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.chromium
@pytest.mark.skipif(
    _chromium() is None, reason="chromium is not installed (apt-get install chromium)"
)
def test_chromium_renders_every_image(full_run, tmp_path):
    run, page = full_run
    shot = tmp_path / "shot.png"
    base = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = (run / "report.html").as_uri()
    result = subprocess.run(
        [*base, "--window-size=1100,9000", f"--screenshot={shot}", "--dump-dom", url],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = result.stdout
    dom_images = re.findall(r"<img\b[^>]*src=\"(data:image/png;base64,[^\"]*)\"", dom)
    assert len(dom_images) == len(IMG.findall(page)) >= 6
    assert "<h2>Profiles</h2>" in dom
    pixels = np.round(255 * mpimg.imread(shot)[..., :3]).astype(np.int32)
    assert pixels.std() > 10
    # the figures are painted: each model's colour (solid bars and lines) is in the screenshot
    packed = pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]
    for model, colour in load_run(run).colours.items():
        assert np.count_nonzero(packed == int(colour[1:], 16)) > 200, model


def test_a_model_named_null_is_a_name_not_a_missing_value(tmp_path):
    # pandas reads null, NA and nan as missing; a model may be called so
    run = make_run(tmp_path, models={"null": "gradient_boosting", "physics": "physics"})
    assert set(read_summary(run / "summary.csv")["model"]) == {"null", "physics"}
    assert set(load_run(run).models) == {"null", "physics"}
    assert "null" in render_report(run).read_text(encoding="utf-8")


def test_learning_curves_leave_out_the_schedule_and_the_weights():
    history = {"epoch": [1], "loss": [1.0], "data": [1.0], "schedule": [0.5], "lambda/data": [1]}
    assert _loss_keys(history) == ["loss", "data"]


def test_infinite_predictions_do_not_break_the_parity_plots(tmp_path):
    run = make_run(tmp_path, models={"physics": "physics", "HGB": "gradient_boosting"})
    path = next((run / "units").glob("HGB__fold*/predictions.csv"))
    preds = pd.read_csv(path)
    preds.loc[:3, "predicted"] = np.inf
    preds.to_csv(path, index=False)
    assert "parity" in figures(run)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("data_card.json", '{"n_rows": 3,\n "target" "T"}', "found '\"T\"}' at line 2, column 11"),
        ("experiment.toml", "name = 'lake'\n[data\n", "expected TOML, found"),
        ("units/HGB__fold0/metrics.json", "", "expected JSON, found an empty file"),
        (
            "units/HGB__fold1/history.json",
            "{'epoch': [1]}",
            "found \"'epoch': [1]}\" at line 1, column 2",
        ),
    ],
)
def test_a_corrupt_run_file_is_an_error_naming_the_file(plain_run, tmp_path, name, content, words):
    from tgds.runs import RunError

    source, _ = plain_run
    run = tmp_path / source.name
    shutil.copytree(source, run)
    (run / name).write_text(content)
    (run / "report.html").unlink()
    expected = f"run file '{run / name}' is corrupt: expected "
    with pytest.raises(RunError, match=re.escape(expected)) as err:
        load_run(run)
    assert words in str(err.value)
    with pytest.raises(RunError, match=re.escape(expected)):
        render_report(run)
    assert not (run / "report.html").exists()


def _audit_rates(run: Path, rate, model: str | None = None, constraint: str | None = None) -> None:
    """Set the audit rates of ``model`` (default: all) for ``constraint`` (default: all)."""
    for path in run.glob("units/*/metrics.json"):
        metrics = json.loads(path.read_text())
        for rec in metrics["audit"]:
            if metrics["model"] == (model or metrics["model"]) and rec["constraint"] == (
                constraint or rec["constraint"]
            ):
                rec["rate"] = rate
        path.write_text(json.dumps(metrics))


@pytest.mark.parametrize(
    ("model", "constraint"),
    [("HGB", None), (None, "liquid_water"), (None, None)],
    ids=["a model whose every fold failed", "a constraint never checked", "no rate at all"],
)
@pytest.mark.parametrize("rate", [None, float("nan")])
def test_violation_rates_that_are_all_nan_show_as_missing(
    plain_run, tmp_path, model, constraint, rate
):
    import warnings

    from tgds.report._plots import violation_table

    source, _ = plain_run
    run = tmp_path / source.name
    shutil.copytree(source, run)
    _audit_rates(run, rate, model, constraint)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" warning either
        table = violation_table(load_run(run))
        assert list(table.index) == list(load_run(run).models) == sorted(["HGB", "physics"])
        assert list(table.columns) == ["density_increases_with_depth", "liquid_water"]
        rows = [model] if model else list(table.index)
        cols = [constraint] if constraint else list(table.columns)
        assert table.loc[rows, cols].isna().all().all()
        assert table.notna().sum().sum() == table.size - len(rows) * len(cols)
        assert "violations" in figures(run)
        page = render_report(run).read_text(encoding="utf-8")
    rates = page.split("Violation rate per constraint (mean over folds).", 1)[1]
    rates = rates.split("</table>", 1)[0]
    missing = re.findall(r"<td class=num>–</td>", rates)
    assert len(missing) == len(rows) * len(cols)
    assert "nan" not in rates.lower()
