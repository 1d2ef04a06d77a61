"""The command line and the bundled datasets/theories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tgds.cli import app
from tgds.datasets import (
    bundled_path,
    load_lotka_volterra,
    load_theory,
    make_lotka_volterra,
    read_table,
)
from tgds.exceptions import DataError

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_bundled_records_are_regenerated_by_the_simulator():
    bundled = load_lotka_volterra()
    fresh = make_lotka_volterra()
    pd.testing.assert_frame_equal(bundled, fresh, check_dtype=False)


def test_simulator_conserves_the_lotka_volterra_invariant():
    # V = delta*u - gamma*log(u) + beta*v - alpha*log(v) is constant along exact solutions
    a, b, g, d = 0.55, 0.028, 0.80, 0.024
    df = make_lotka_volterra(noise=0.0, missing=0.0, alpha=a, beta=b, gamma=g, delta=d)
    u, v = df["Hare"].to_numpy(), df["Lynx"].to_numpy()
    invariant = d * u - g * np.log(u) + b * v - a * np.log(v)
    assert df.loc[0, "Hare"] == pytest.approx(33.0) and df.loc[0, "Lynx"] == pytest.approx(6.2)
    # values are rounded to 0.01: the invariant may move by about 1e-3, a wrong ODE by far more
    assert np.ptp(invariant) < 2e-3
    wrong = make_lotka_volterra(noise=0.0, missing=0.0, alpha=a, beta=b, gamma=g, delta=2 * d)
    u2, v2 = wrong["Hare"].to_numpy(), wrong["Lynx"].to_numpy()
    assert np.ptp(d * u2 - g * np.log(u2) + b * v2 - a * np.log(v2)) > 0.1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_years": 1},
        {"noise": -0.1},
        {"missing": 1.0},
        {"noise": None},
        {"alpha": float("nan")},  # solve_ivp looped forever on it
        {"beta": -1.0},
        {"initial": (-5.0, 2.0)},  # negative populations
        {"initial": (1.0, 2.0, 3.0)},
        {"seed": -1},
        {"start_year": "1900"},
    ],
)
def test_simulator_rejects_bad_arguments(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(DataError, match=f"make_lotka_volterra: {name} must be"):
        make_lotka_volterra(**kwargs)


def test_simulator_reports_a_failed_integration():
    with pytest.raises(DataError, match="the ODE solver failed"):
        make_lotka_volterra(alpha=50.0, beta=0.0, n_years=30)
    assert len(make_lotka_volterra(n_years=np.int64(5))) == 5  # NumPy integers are integers


@pytest.mark.parametrize("name", ["lake", "burgers", "lotka_volterra"])
def test_examples_are_the_bundled_theories(name):
    assert (EXAMPLES / f"{name}.toml").resolve() == bundled_path(f"{name}.toml").resolve()
    assert load_theory(name).name == name


def test_unknown_bundled_names():
    with pytest.raises(DataError, match="choose one of"):
        load_theory("ocean")
    with pytest.raises(DataError, match="bundled files"):
        bundled_path("nothing.csv")
    for outside in ("/etc/passwd", "../_files.py", "", 3):  # only files of the data folder
        with pytest.raises(DataError, match="bundled files: .*lake_demo.toml"):
            bundled_path(outside)


def test_read_table_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    with pytest.raises(DataError, match="unknown type '.xlsx'"):
        read_table(odd)


def test_read_table_skips_comment_lines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("# source\n# downloaded\nYear, Lynx, Hare\n1900, 4.0, 30.0\n")
    df = read_table(path)
    assert list(df.columns) == ["Year", "Lynx", "Hare"]
    assert df.loc[0, "Hare"] == 30.0


def test_read_table_names_a_directory_and_a_path_that_is_not_one(tmp_path):
    with pytest.raises(DataError, match=r"data file '.*' is a directory; expected a CSV or"):
        read_table(tmp_path)
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_table(str(folder))
    for value, got in [(None, "NoneType"), (3, "int"), (b"d.csv", "bytes"), ("", "''")]:
        with pytest.raises(DataError, match=rf"read_table: path must be .*; got {got}\."):
            read_table(value)


def test_read_table_skips_comments_after_a_byte_order_mark(tmp_path):
    text = "# source\n\n# downloaded\nYear, Lynx, Hare\n1900, 4.0, 30.0\n"
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    plain.write_text(text, encoding="utf-8")
    marked.write_text(text, encoding="utf-8-sig")  # Excel's "CSV UTF-8" writes the mark
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf#")
    expected = pd.DataFrame({"Year": [1900], "Lynx": [4.0], "Hare": [30.0]})
    pd.testing.assert_frame_equal(read_table(plain), expected)
    pd.testing.assert_frame_equal(read_table(marked), expected)
    header = tmp_path / "header.csv"
    header.write_text("Year,Hare\n1900,30.0\n", encoding="utf-8-sig")  # the mark before a header
    assert list(read_table(header).columns) == ["Year", "Hare"]


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("", "is empty"),
        ("\ufeff", "is empty"),
        ("# only a comment\n\n# and another\n", "holds only '#' comment or blank lines"),
        ("\n\n", "holds only '#' comment or blank lines"),
    ],
)
def test_read_table_names_a_file_without_a_header(tmp_path, content, what):
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=rf"'.*d\.csv' {what}; expected a header line"):
        read_table(path)


def test_check_of_a_directory_exits_2(tmp_path):
    result = runner.invoke(app, ["check", str(EXAMPLES / "burgers.toml"), str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_check_prints_a_data_check_report_for_the_bundled_records():
    theory, data = bundled_path("lotka_volterra.toml"), bundled_path("lotka_volterra.csv")
    result = runner.invoke(app, ["check", str(theory), str(data)])
    assert result.exit_code == 0, result.output
    assert "Data check against theory 'lotka_volterra': 21 rows" in result.output
    assert "missing (NaN)" in result.output


@pytest.mark.slow
def test_demo_shows_the_theory_guided_model_winning(tmp_path):
    result = runner.invoke(app, ["demo", "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(next((tmp_path / "runs").glob("*/summary.csv"))).set_index("model")
    assert table.loc["TGNN", "violation_rate"] < table.loc["NN", "violation_rate"]
    assert table.loc["TGNN", "rmse"] < table.loc["physics", "rmse"]
    assert "report:" in result.output


def _write(tmp_path, df):
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


def test_check_exit_codes(tmp_path):
    theory = EXAMPLES / "lotka_volterra.toml"
    good = _write(
        tmp_path, pd.DataFrame({"Year": [1900, 1901], "Hare": [1.0, 2.0], "Lynx": [3.0, 1.0]})
    )
    assert runner.invoke(app, ["check", str(theory), str(good), "--strict"]).exit_code == 0
    bad = _write(
        tmp_path, pd.DataFrame({"Year": [1900, 1901], "Hare": [-1.0, 2.0], "Lynx": [3.0, 1.0]})
    )
    result = runner.invoke(app, ["check", str(theory), str(bad)])
    assert result.exit_code == 0 and "outside the physical bounds of 'Hare'" in result.output
    assert runner.invoke(app, ["check", str(theory), str(bad), "--strict"]).exit_code == 1
    as_json = runner.invoke(app, ["check", str(theory), str(bad), "--json"])
    records = json.loads(as_json.output)
    assert records[0]["column"] == "Hare" and records[0]["kind"] == "out_of_bounds"
    assert records[0]["examples"] == [[0, -1.0]]


def test_check_bad_input_exits_2(tmp_path):
    bad_theory = tmp_path / "t.toml"
    bad_theory.write_text("[variables.x]\nunit = 'furlongz'\n")
    data = _write(tmp_path, pd.DataFrame({"x": [1.0]}))
    result = runner.invoke(app, ["check", str(bad_theory), str(data)])
    assert result.exit_code == 2
    assert "furlongz" in result.output
    result = runner.invoke(
        app, ["check", str(EXAMPLES / "burgers.toml"), str(tmp_path / "none.csv")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output


def test_theory_command_and_version():
    result = runner.invoke(app, ["theory", str(EXAMPLES / "burgers.toml")])
    assert result.exit_code == 0 and "D(u, t) + u*D(u, x) == nu*D(u, x, 2)" in result.output
    assert runner.invoke(app, ["--version"]).output.startswith("tgds ")
