"""The lake temperature simulator behind the bundled lake data (``tgds.datasets._lake``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tgds import Theory
from tgds.datasets._lake import (
    LAKE_COLUMNS,
    MODEL_PARAMETERS,
    LakeParameters,
    convect,
    diffuse,
    load_mendota,
    make_lake,
    make_weather,
    simulate_lake,
)
from tgds.exceptions import DataError
from tgds.utils import group_codes, monotone_pairs, roundoff

ROOT = Path(__file__).resolve().parents[1]
MENDOTA = ROOT.parent / "shared" / "data" / "lake" / "mendota_pgnn_table.csv"
DEPTHS = np.arange(0.0, 20.5, 0.5)  # make_lake's default grid


def density(temp):
    """The density of the lake theory, written out independently of the simulator."""
    return 1000 * (1 - (temp + 288.9414) * (temp - 3.9863) ** 2 / (508929.2 * (temp + 68.12963)))


def inversions(frame: pd.DataFrame, column: str) -> int:
    """Pairs of consecutive depths on one date where the deeper water is lighter."""
    pairs = monotone_pairs(frame["Depth"].to_numpy(), group_codes([frame["DateTime"].to_numpy()]))
    rho = density(frame[column].to_numpy())
    upper, lower = rho[pairs[:, 0]], rho[pairs[:, 1]]
    return int(np.sum(lower < upper - roundoff(upper, lower)))


def long_frame(dates: pd.DatetimeIndex, temp: np.ndarray, name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "DateTime": np.repeat(dates.strftime("%Y-%m-%d"), DEPTHS.size),
            "Depth": np.tile(DEPTHS, dates.size),
            name: temp.ravel(),
        }
    )


@pytest.fixture(scope="module")
def lake():
    """make_lake's defaults, and the truth and weather behind them, rebuilt step by step."""
    observations, grid = make_lake(return_grid=True)
    dates = pd.date_range("2009-01-01", "2012-12-31")  # a spin-up year, then 2010-2012
    weather = make_weather(dates, np.random.default_rng(0))  # the weather comes first
    truth = simulate_lake(weather, DEPTHS, LakeParameters())[365:]
    return observations, grid, dates[365:], truth


# --- the tables ----------------------------------------------------------------------


def test_same_seed_same_data_other_seed_other_data():
    first, grid = make_lake(n_years=1, seed=3, return_grid=True)
    again, grid_again = make_lake(n_years=1, seed=3, return_grid=True)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(grid, grid_again)
    other = make_lake(n_years=1, seed=4)
    assert len(other) != len(first) or not np.allclose(other["AirTemp"], first["AirTemp"])


def test_columns_shapes_and_sampling(lake):
    observations, grid, dates, _ = lake
    assert list(observations.columns) == list(LAKE_COLUMNS)
    assert list(grid.columns) == list(LAKE_COLUMNS[:-1])  # unlabeled: no Observed_temp
    assert len(grid) == 1096 * 41 and grid["DateTime"].nunique() == 1096
    assert 1500 <= len(observations) <= 5000  # a few thousand readings
    assert set(observations["Depth"]) <= set(range(21))  # whole metres
    profiles = observations["DateTime"].nunique()
    assert 100 <= profiles <= 200  # about one day in seven in open water, 3 years
    when = pd.to_datetime(observations["DateTime"], format="%Y-%m-%d")
    assert (when.dt.day_of_year == observations["doy"]).all()
    assert when.min().year == 2010 and when.max().year == 2012
    ordered = observations.sort_values(["DateTime", "Depth"], kind="stable")
    pd.testing.assert_frame_equal(ordered, observations)
    # the observation rows carry the grid's drivers and physics model at that date and depth
    joined = observations.merge(grid, on=["DateTime", "Depth"], suffixes=("", "_grid"))
    assert len(joined) == len(observations)
    for name in ("AirTemp", "ShortWave", "LongWave", "Modeled_temp", "growing_deg_days"):
        np.testing.assert_array_equal(joined[name], joined[f"{name}_grid"])


def test_drivers_are_plausible(lake):
    _, grid, _, _ = lake
    daily = grid.drop_duplicates("DateTime")
    month = pd.to_datetime(daily["DateTime"]).dt.month
    air = daily.groupby(month)["AirTemp"].mean()
    assert air[1] < -3 and air[7] > 18
    assert (
        daily.groupby(month)["ShortWave"].mean()[6]
        > 2 * daily.groupby(month)["ShortWave"].mean()[12]
    )
    assert daily["LongWave"].between(100, 500).all()
    assert daily["RelHum"].between(30, 100).all() and (daily["WindSpeed"] > 0).all()
    assert ((daily["Snow"] > 0) <= (daily["AirTemp"] < 0)).all()
    assert ((daily["Rain"] > 0) <= (daily["AirTemp"] >= 0)).all()
    assert (daily["freezing"] == (daily["AirTemp"] < 0)).all()
    per_year = daily.groupby(pd.to_datetime(daily["DateTime"]).dt.year)["growing_deg_days"]
    assert (per_year.nunique() == 1).all()  # one value per year, as in the real table


def test_the_lake_theory_accepts_the_data(lake):
    observations, grid, _, _ = lake
    theory = Theory.from_toml(ROOT / "examples" / "lake.toml")
    report = theory.check_data(observations)
    assert report.ok, str(report)
    assert not report.extra_columns
    grid_issues = {(i.column, i.kind) for i in theory.check_data(grid).issues}
    assert grid_issues == {("Observed_temp", "missing_column")}


# --- physical sanity -----------------------------------------------------------------


def test_the_rebuilt_truth_is_the_one_behind_the_data(lake):
    observations, grid, _, truth = lake
    modeled = simulate_lake(
        make_weather(pd.date_range("2009-01-01", "2012-12-31"), np.random.default_rng(0)),
        DEPTHS,
        MODEL_PARAMETERS,
    )[365:]
    np.testing.assert_array_equal(grid["Modeled_temp"].to_numpy(), modeled.ravel())
    true_at = truth[
        pd.Index(pd.date_range("2010-01-01", "2012-12-31").strftime("%Y-%m-%d")).get_indexer(
            observations["DateTime"]
        ),
        np.searchsorted(DEPTHS, observations["Depth"]),
    ]
    error = observations["Observed_temp"].to_numpy() - true_at
    assert abs(error.mean()) < 0.05 and 0.15 < error.std() < 0.3  # sigma 0.3, partly averaged


def test_no_density_inversions(lake):
    observations, grid, dates, truth = lake
    assert inversions(long_frame(dates, truth, "truth"), "truth") == 0
    assert inversions(grid, "Modeled_temp") == 0
    assert inversions(observations, "Observed_temp") == 0
    # the check finds inversions where they exist: raw noisy readings have many
    noisy = truth + 0.3 * np.random.default_rng(1).standard_normal(truth.shape)
    assert inversions(long_frame(dates, noisy, "noisy"), "noisy") > 1000


def test_temperatures_are_those_of_liquid_lake_water(lake):
    observations, grid, _, truth = lake
    for values in (truth, grid["Modeled_temp"], observations["Observed_temp"]):
        assert np.min(values) >= 0 and np.max(values) <= 35


def test_summer_stratification_and_turnover(lake):
    _, grid, dates, truth = lake
    modeled = grid["Modeled_temp"].to_numpy().reshape(truth.shape)
    for temp in (truth, modeled):
        top_minus_bottom = temp[:, 0] - temp[:, -1]
        assert np.all(top_minus_bottom[dates.month == 7] > 5)  # stratified all July
        for year in (2010, 2011, 2012):
            spring = (dates.year == year) & dates.month.isin([3, 4, 5])
            autumn = (dates.year == year) & dates.month.isin([10, 11, 12])
            for season in (spring, autumn):  # some days mixed top to bottom
                assert np.ptp(temp[season], axis=1).min() < 0.1
    winter = truth[dates.month == 2]  # under ice: inverse stratification, cold water floats
    assert winter[:, 0].mean() < 1.5 and np.all(winter[:, 0] < winter[:, -1])
    assert np.all(winter[:, -1] < 4.0)


def test_physics_model_error_is_systematic_and_in_the_documented_band(lake):
    observations, _, _, _ = lake
    error = observations["Modeled_temp"] - observations["Observed_temp"]
    rmse = float(np.sqrt(np.mean(error**2)))
    assert rmse >= 1.5 and rmse <= 3.0 and rmse > 4 * 0.3  # far larger than the noise
    by_depth = (error**2).groupby(observations["Depth"] // 3).mean() ** 0.5
    assert by_depth[3] > 1.5 * by_depth[0]  # larger in the thermocline (9-12 m) than at 0-2 m
    # with the true parameters the "model" is the truth: only the noise is left
    exact = make_lake(n_years=1, model_bias=0.0)
    exact_rmse = np.sqrt(np.mean((exact["Modeled_temp"] - exact["Observed_temp"]) ** 2))
    assert exact_rmse < 0.3


def test_defaults_run_fast():
    start = time.perf_counter()
    make_lake()
    assert time.perf_counter() - start < 2.0


# --- the solver steps ----------------------------------------------------------------


def test_diffusion_conserves_heat():
    rng = np.random.default_rng(0)
    temp = rng.uniform(0, 25, 41)
    kappa = 10 ** rng.uniform(-7, -2, 40)  # from molecular to wind-mixed
    new = diffuse(temp, kappa, 0.5, 86400.0)
    assert new.sum() == pytest.approx(temp.sum(), rel=1e-12)
    assert new.min() >= temp.min() and new.max() <= temp.max()  # a maximum principle
    heating = rng.uniform(0, 1, 41)
    heated = diffuse(temp, kappa, 0.5, 86400.0, heating)
    assert heated.sum() == pytest.approx(temp.sum() + heating.sum(), rel=1e-12)
    cooled = diffuse(temp, kappa, 0.5, 86400.0, surface_loss=1.0)
    assert cooled.sum() < temp.sum()


def test_diffusion_damps_each_cosine_mode_by_its_backward_euler_factor():
    # cos(pi m (i + 1/2) / n) is an eigenvector of the no-flux discrete Laplacian
    n, dz, dt, k = 40, 0.5, 86400.0, 2e-6
    cells = np.arange(n) + 0.5
    for m in (1, 3, 10):
        mode = np.cos(np.pi * m * cells / n)
        eigen = 4 * k / dz**2 * np.sin(np.pi * m / (2 * n)) ** 2
        new = diffuse(5.0 + mode, np.full(n - 1, k), dz, dt)
        np.testing.assert_allclose(new, 5.0 + mode / (1 + dt * eigen), rtol=1e-12)


def test_convection_conserves_heat_and_leaves_stable_profiles_alone():
    rng = np.random.default_rng(2)
    for _ in range(50):
        temp = rng.uniform(0, 25, 30)
        mixed = convect(temp)
        assert mixed.sum() == pytest.approx(temp.sum(), rel=1e-12)
        assert np.all(np.diff(density(mixed)) >= -roundoff(density(mixed[1:])))
    stable = np.array([24.0, 22.0, 15.0, 9.0, 6.0])
    assert convect(stable) is stable
    winter = np.array([0.0, 0.5, 2.0, 3.9])
    np.testing.assert_array_equal(convect(winter), winter)


# --- arguments and the loader --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_years", 0),
        ("n_years", 2.0),
        ("start_year", "2010"),
        ("max_depth", 30),
        ("max_depth", 10.5),
        ("dz", 0.3),
        ("dz", True),
        ("sample_every", 0.5),
        ("noise", -0.1),
        ("missing", 1.0),
        ("model_bias", float("nan")),
        ("seed", -1),
        ("seed", True),
        ("return_grid", "yes"),
        ("return_grid", 1),
        ("return_grid", None),
    ],
)
def test_bad_arguments_are_named(name, value):
    with pytest.raises(DataError, match=rf"make_lake: {name} must be .*; got {value!r}"):
        make_lake(**{name: value})


def test_return_grid_is_a_bool():
    with pytest.raises(DataError, match="make_lake: return_grid must be True or False; got 'no'"):
        make_lake(return_grid="no")  # a non-empty string is truthy: it used to return the grid
    small = {"n_years": 1, "max_depth": 2, "dz": 1.0}
    assert isinstance(make_lake(**small, return_grid=np.False_), pd.DataFrame)
    observations, grid = make_lake(**small, return_grid=np.True_)  # NumPy bools are bools
    assert len(grid) == 365 * 3 and "Observed_temp" not in grid


def test_other_grids():
    observations, grid = make_lake(n_years=1, max_depth=10, dz=1.0, return_grid=True)
    assert sorted(grid["Depth"].unique()) == list(range(11))
    assert observations["Depth"].max() <= 10


def test_load_mendota_reads_a_table_with_the_lake_columns(tmp_path):
    path = tmp_path / "lake.csv"
    make_lake(n_years=1).to_csv(path, index=False)
    table = load_mendota(path)
    assert list(table.columns) == list(LAKE_COLUMNS)
    assert isinstance(table["DateTime"].iloc[0], str)  # parses nothing
    make_lake(n_years=1).drop(columns=["LongWave", "Snow"]).to_csv(path, index=False)
    with pytest.raises(DataError, match="lacks the column\\(s\\) LongWave, Snow"):
        load_mendota(path)
    with pytest.raises(DataError, match="does not exist"):
        load_mendota(tmp_path / "missing.csv")


@pytest.mark.skipif(not MENDOTA.is_file(), reason=f"the real lake table is not at {MENDOTA}")
def test_load_mendota_reads_the_real_table_and_the_same_theory_applies():
    table = load_mendota(MENDOTA)
    assert len(table) == 13543
    report = Theory.from_toml(ROOT / "examples" / "lake.toml").check_data(table)
    assert report.ok, str(report)
