"""Review of tgds.datasets and tgds.utils: malformed input, validation and the physics.

Each test pins a defect found in review (it failed before the fix) or a property with an
analytic reference.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tgds.datasets import make_lake, make_lotka_volterra, read_table
from tgds.datasets._lake import LakeParameters, _Lake, _step, light_fractions
from tgds.exceptions import DataError
from tgds.utils import (
    as_frame,
    atomic_write_bytes,
    atomic_write_text,
    dataclass_from_fields,
    monotone_pairs,
    restore_containers,
    toml_key,
    toml_value,
)

# --- make_lotka_volterra ---------------------------------------------------------------


def test_lotka_volterra_stays_at_its_equilibrium():
    # (gamma/delta, alpha/beta) is the fixed point of the ODE: every year is the same
    a, b, g, d = 0.55, 0.028, 0.80, 0.024
    df = make_lotka_volterra(noise=0.0, missing=0.0, initial=(g / d, a / b))
    np.testing.assert_allclose(df["Hare"], round(g / d, 2))
    np.testing.assert_allclose(df["Lynx"], round(a / b, 2))


def test_lotka_volterra_noise_is_lognormal_with_the_documented_spread():
    clean = make_lotka_volterra(n_years=2000, noise=0.0, missing=0.0)
    noisy = make_lotka_volterra(n_years=2000, noise=0.2, missing=0.3, seed=5)
    ratio = np.log(noisy[["Hare", "Lynx"]] / clean[["Hare", "Lynx"]]).to_numpy()
    present = ratio[np.isfinite(ratio)]
    # ~2,800 draws: standard errors 1.3 % of the spread, 0.004 of the mean, 0.007 of the
    # missing fraction; the bands are about four of them
    assert present.std() == pytest.approx(0.2, rel=0.05)
    assert abs(present.mean()) < 0.015
    assert np.isnan(ratio).mean() == pytest.approx(0.3, abs=0.03)


def test_simulators_take_any_real_number_and_reject_overflowing_ones():
    # a Fraction is a numbers.Real: it used to fail with a TypeError from np.isfinite
    exact = make_lotka_volterra(alpha=Fraction(11, 20), noise=Fraction(1, 4), n_years=5)
    pd.testing.assert_frame_equal(exact, make_lotka_volterra(alpha=0.55, noise=0.25, n_years=5))
    small = {"n_years": 1, "max_depth": 3, "dz": 1.0}
    lake = make_lake(**{**small, "max_depth": Fraction(3)}, noise=Fraction(3, 10))
    pd.testing.assert_frame_equal(lake, make_lake(**small, noise=0.3))
    assert lake["Observed_temp"].dtype == np.float64  # not a column of Fractions
    with pytest.raises(DataError, match=r"make_lotka_volterra: beta must be a finite number"):
        make_lotka_volterra(beta=10**400)  # no float holds it
    with pytest.raises(DataError, match=r"make_lake: noise must be a number in \[0, 5\]"):
        make_lake(noise=10**400)


@pytest.mark.parametrize("year", [2**63 - 3, 2**64, -(2**70)])
def test_lotka_volterra_rejects_a_start_year_that_overflows_the_year_column(year):
    # 2**63 - 3 gave the years ..., 9223372036854775807, -9223372036854775808, ...
    # and 2**64 an OverflowError
    with pytest.raises(DataError, match=rf"make_lotka_volterra: start_year must be .*; got {year}"):
        make_lotka_volterra(start_year=year, n_years=5)
    assert make_lotka_volterra(start_year=-500, n_years=2)["Year"].tolist() == [-500, -499]


def test_lotka_volterra_says_initial_is_a_tuple():
    # a NumPy array of two populations was refused as "two finite populations > 0"
    with pytest.raises(DataError, match=r"initial must be a tuple \(hare, lynx\) of two"):
        make_lotka_volterra(initial=np.array([33.0, 6.2]))


# --- make_lake -------------------------------------------------------------------------


def test_fine_grids_have_clean_depths():
    _, grid = make_lake(n_years=1, max_depth=2, dz=0.1, return_grid=True)
    depths = np.unique(grid["Depth"])
    # 3 * 0.1 is 0.30000000000000004: the grid showed such depths
    assert depths.tolist() == [k / 10 for k in range(21)]


def test_a_numpy_float32_layer_thickness_keeps_whole_metre_readings():
    # np.float32(0.1) == 0.1 under NumPy 2, so it passed the check but put the readings at
    # 1.0000000149 m, 2.0000000298 m, ...
    observations, grid = make_lake(
        n_years=1, max_depth=2, dz=np.float32(0.1), sample_every=2.0, return_grid=True
    )
    assert set(observations["Depth"]) == {0.0, 1.0, 2.0}
    assert np.unique(grid["Depth"]).tolist() == [k / 10 for k in range(21)]


def test_lake_readings_are_the_truth_plus_noise_of_the_documented_size():
    # model_bias=0: Modeled_temp is the truth; noise=0: every reading is the truth
    exact = make_lake(n_years=1, dz=1.0, model_bias=0.0, noise=0.0, missing=0.0)
    np.testing.assert_array_equal(exact["Observed_temp"], exact["Modeled_temp"])
    noisy = {"n_years": 2, "dz": 1.0, "model_bias": 0.0, "noise": 0.2, "missing": 0.0}
    obs, grid = make_lake(**noisy, sample_every=1.0, return_grid=True)
    # where both neighbours differ by > 1.2 degC (4 sigma of a difference of two readings)
    # convection never averages readings and the truth is far above the 0 degC clip
    wide = grid.pivot(index="DateTime", columns="Depth", values="Modeled_temp")
    step = wide.diff(axis=1).abs()
    gap = np.fmin(step.fillna(np.inf), step.shift(-1, axis=1).fillna(np.inf))
    gaps = gap.stack().rename("gap").reset_index()
    steep = obs.merge(gaps, on=["DateTime", "Depth"]).query("gap > 1.2 and Modeled_temp > 1")
    error = steep["Observed_temp"] - steep["Modeled_temp"]
    assert len(steep) > 400
    assert error.std() == pytest.approx(0.2, rel=0.1)
    assert abs(error.mean()) < 0.03


def test_ice_draws_heat_from_the_top_layer_towards_zero():
    depths = np.arange(0.0, 5.5, 0.5)
    lake = _Lake(depths, 0.5, light_fractions(depths, 0.5, 0.45), LakeParameters())
    dark = {"ShortWave": 0.0, "LongWave": 300.0, "AirTemp": -10.0, "RelHum": 80.0}
    temp = _step(np.full(depths.size, 2.0), {**dark, "WindSpeed": 4.0}, True, lake)
    # a dark day under ice: the only heat flow is 20 W/m^2/K * (T_top - 0 degC), implicit
    # in time, so the heat lost equals 20 * T_top(new) * 86400 s (J/m^2)
    lost = (2.0 - temp).sum() * 0.5 * 4.18e6
    assert lost == pytest.approx(20.0 * temp[0] * 86400.0, rel=1e-9)
    assert temp[0] < 1.5


# --- read_table ------------------------------------------------------------------------


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_read_table_rejects_duplicate_column_names(tmp_path):
    # pandas renamed the second 'a' to 'a.1': a theory bound to 'a' silently got the first
    path = write(tmp_path, "dup.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(DataError, match=r"dup.csv' has duplicate column names: 'a'"):
        read_table(path)
    spaced = write(tmp_path, "spaced.csv", "Depth, Depth\n1,2\n")
    with pytest.raises(DataError, match=r"duplicate column names: 'Depth'"):
        read_table(spaced)


@pytest.mark.parametrize(
    ("text", "line", "fields", "columns"),
    [
        ("a,b,c\n1,2,3\n4,5\n6,7,8\n", 3, 2, 3),  # a short row: pandas padded it with NaN
        ("a,b\n1,2,\n3,4,\n", 2, 3, 2),  # a field too many on every row: pandas made the
        ("a,b\n1,2,3\n4,5,6\n", 2, 3, 2),  # first column the index and shifted the others
        ("# note\na,b,c\n1,2,3\n\n4,5,6,7\n", 5, 4, 3),  # line numbers count every line
    ],
)
def test_read_table_rejects_ragged_rows(tmp_path, text, line, fields, columns):
    path = write(tmp_path, "ragged.csv", text)
    expected = f"row starting on line {line} has {fields} fields; its header has {columns} columns"
    with pytest.raises(DataError, match=expected):
        read_table(path)


def test_read_table_keeps_quoted_commas_and_empty_fields(tmp_path):
    path = write(tmp_path, "quoted.csv", 'name,x,y\n"Smith, J.",1,\n"a\nb",2,3\n\n')
    df = read_table(path)
    assert df["name"].tolist() == ["Smith, J.", "a\nb"]
    assert df["x"].tolist() == [1, 2] and np.isnan(df["y"].iloc[0])


def test_read_table_reads_a_field_longer_than_the_csv_module_allows(tmp_path):
    # the row check uses the csv module, whose fields stop at 128 KiB; pandas has no limit
    path = write(tmp_path, "long.csv", "note,x\n" + "n" * 200_000 + ",1\n")
    df = read_table(path)
    assert len(df["note"].iloc[0]) == 200_000 and df["x"].tolist() == [1]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_read_table_names_a_wrong_delimiter(tmp_path, sep):
    path = write(tmp_path, "semi.txt", f"Year{sep}Hare{sep}Lynx\n1900{sep}30{sep}4\n")
    with pytest.raises(DataError, match=rf"separated by {re.escape(repr(sep))}.*comma-separated"):
        read_table(path)


def test_read_table_says_a_file_is_not_utf8(tmp_path):
    path = write(tmp_path, "latin.csv", "name,x\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv' is not UTF-8 text.*save it as UTF-8"):
        read_table(path)


def test_read_table_lists_every_type_it_reads(tmp_path):
    path = write(tmp_path, "data.xlsx", "x")
    with pytest.raises(DataError, match=r"expected .csv, .txt, .parquet or .pq"):
        read_table(path)


# --- monotone_pairs --------------------------------------------------------------------


def test_monotone_pairs_pairs_neighbouring_levels_with_ties_and_nan():
    wrt = np.array([3.0, 1.0, np.nan, 1.0, 2.0, 5.0, 4.0])
    groups = np.array([0, 0, 0, 0, 0, 1, -1])  # row 5 is alone, row 6 in no group
    pairs = {tuple(p) for p in monotone_pairs(wrt, groups).tolist()}
    assert pairs == {(1, 4), (3, 4), (4, 0)}


def test_monotone_pairs_takes_lists_and_names_mismatched_inputs():
    assert monotone_pairs([1.0, 0.0], [0, 0]).tolist() == [[1, 0]]
    with pytest.raises(ValueError, match=r"monotone_pairs: wrt and groups must be 1-D .* got "):
        monotone_pairs(np.array([1.0, 0.0, 2.0]), np.array([0]))
    with pytest.raises(ValueError, match=r"monotone_pairs: wrt and groups must be 1-D"):
        monotone_pairs(np.zeros((2, 2)), np.zeros((2, 2), dtype=int))


# --- FrameView -------------------------------------------------------------------------


def test_a_mapping_with_keys_equal_as_strings_is_rejected():
    # {1: ..., "1": ...} became one column '1': the first values were silently dropped
    with pytest.raises(DataError, match="duplicate column names"):
        as_frame({1: [1.0], "1": [2.0]})


# --- TOML ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.float64(0.5), "0.5"),  # a float subclass: repr gave 'np.float64(0.5)'
        (np.float32(0.5), "0.5"),
        (np.int64(16), "16"),  # a grid search hands out NumPy integers
        (np.bool_(True), "true"),
        ([np.float64(1.0), np.int32(2)], "[1.0, 2]"),
    ],
)
def test_toml_value_writes_numpy_scalars(value, text):
    assert toml_value(value) == text
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == tomllib.loads(f"x = {text}")["x"]


def test_toml_key_names_a_key_that_is_not_a_string():
    with pytest.raises(ValueError, match=r"TOML keys are strings; got int 3"):
        toml_value({3: 1.0})
    assert toml_key("a b") == '"a b"'


# --- atomic writes ---------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path, mode):
    # open(path, "w") keeps an existing file's mode; a private 0o600 file became 0o644
    path = tmp_path / "secret.toml"
    path.write_text("old")
    path.chmod(mode)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == mode
    assert os.listdir(tmp_path) == ["secret.toml"]


def test_atomic_write_failures_name_the_target_and_leave_no_temporary_file(tmp_path):
    target = tmp_path / "missing" / "report.html"
    with pytest.raises(FileNotFoundError) as info:
        atomic_write_text(target, "x")
    assert info.value.filename == str(target)  # not '.report.html.k3j2.tmp'
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_bytes(tmp_path / "folder", b"x")
    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "data.bin", "not bytes")  # type: ignore[arg-type]
    assert sorted(os.listdir(tmp_path)) == ["folder"]
    assert os.listdir(tmp_path / "folder") == []


# --- containers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Repair:
    size: float


@pytest.mark.parametrize(
    "state",
    [
        {"kind": ["_Repair"], "size": 1.0},  # unhashable kind: TypeError
        "_Repair",  # not a table: ValueError from dict()
        5,  # TypeError
        {"kind": "_Repair"},  # a required field missing: TypeError from the class
    ],
)
def test_dataclass_from_fields_rejects_malformed_state_with_a_data_error(state):
    with pytest.raises(DataError, match=r"model file 'm.tgds'"):
        dataclass_from_fields({"_Repair": _Repair}, state, "repair", "model file 'm.tgds'")


@pytest.mark.parametrize(
    ("params", "kinds"),
    [
        ({"hidden": [8]}, {"hidden": ["tuple"]}),  # unhashable kind
        ({"hidden": 8}, {"hidden": "tuple"}),  # tuple(8)
        ({"path": 8}, {"path": "Path"}),  # Path(8)
        ({"hidden": [8]}, ["hidden"]),  # kinds not a table
    ],
)
def test_restore_containers_rejects_malformed_files_with_a_data_error(params, kinds):
    with pytest.raises(DataError, match=r"model file 'm.tgds'"):
        restore_containers(params, kinds, "model file 'm.tgds'")
    good = {"hidden": [8, 8], "path": "runs/x", "other": None}
    restore_containers(good, {"hidden": "tuple", "path": "Path", "other": "list"}, "m")
    assert good == {"hidden": (8, 8), "path": Path("runs/x"), "other": None}


def test_read_table_says_how_to_install_the_parquet_reader(tmp_path, monkeypatch):
    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', 'fastparquet'.")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    path = write(tmp_path, "data.parquet", b"PAR1")
    with pytest.raises(DataError, match=r"needs pyarrow.*pip install 'tgds\[parquet\]'"):
        read_table(path)


@pytest.mark.parametrize("n_years", [1, 10_001, 10**9])
def test_lotka_volterra_bounds_n_years(n_years):
    # 10**9 was accepted and solved the ODE for hours
    with pytest.raises(
        DataError, match=rf"n_years must be an integer in \[2, 10000\]; got {n_years}"
    ):
        make_lotka_volterra(n_years=n_years)
