"""A small 1-D lake temperature simulator that makes the bundled lake data, and a loader.

``make_lake`` simulates the daily temperature profile of a dimictic lake (a Lake
Mendota look-alike, 20 m deep by default) under synthetic weather, twice: once with the
"true" parameters, giving the truth behind the sparse noisy ``Observed_temp``, and once
with deliberately biased parameters, giving ``Modeled_temp``, the output of an imperfect
physics model. Everything comes from our own code and a seed: no real data is copied.

Physics (one-dimensional, horizontally uniform, every layer the same area)
--------------------------------------------------------------------------
Nodes at depths ``0, dz, …, max_depth`` each stand for a layer of thickness ``dz``
(heat content ``ρ c_p dz ΣT``). One day is one step (:func:`simulate_lake`):

1. **Mixing depth** (:func:`mixing_depth`), a bulk Richardson criterion: the wind mixes
   down to the first depth ``z`` where ``(ρ(z) − ρ(0))·z`` — the work needed to mix
   through the density jump — exceeds ``wind_mixing·U²``. Near 4 °C density hardly
   changes with temperature, so in spring and autumn the wind mixes the whole lake;
   in summer the thermocline stops it.
2. **Eddy diffusivity** (:func:`diffusivity`)
   ``K(z) = K_deep + (K_surface − K_deep)·sigmoid((h_mix − z)/0.5 m)``: high in the
   wind-mixed layer, low below the thermocline.
3. **Heating.** Short-wave radiation (albedo 0.07) is absorbed with depth by Beer's law,
   ``I(z) = I₀·exp(−k_d z)`` (:func:`light_fractions`); what reaches the bottom warms
   the bottom layer. At the surface (:func:`surface_flux`) the lake gains long-wave
   radiation and loses its own (emissivity 0.97), exchanges sensible heat and loses
   latent heat through bulk formulas ``ρ_a c_a C U (T_air − T_s)`` and
   ``ρ_a L_v C U (q_air − q_sat(T_s))`` with a transfer coefficient ``C``. This flux is
   linearised around the day's starting surface temperature and made implicit, so the
   step is stable for any length.
4. **Diffusion** (:func:`diffuse`): backward Euler, one tridiagonal solve
   (``scipy.linalg.solve_banded``), no flux through the bottom; it conserves heat
   exactly apart from the surface flux and the absorbed light.
5. **Freezing and convection** (:func:`convect`). Temperatures are clamped at 0 °C (the
   latent heat of ice is not tracked), then adjacent layers are mixed wherever denser
   water lies above lighter water until the profile is statically stable, with the
   density ``ρ(T) = 1000·(1 − (T+288.9414)(T−3.9863)²/(508929.2·(T+68.12963)))`` of the
   project's lake theory. Spring and autumn turnover emerge from this step, and no
   simulated profile has a density inversion.

A crude ice cover forms when the surface water reaches 0 °C on a day below freezing and
breaks when the past week's air temperature averages above 0 °C. Under ice there is no
exchange with the air and no wind mixing, 20 % of the light passes, and the ice draws
heat from the top layer (conductance 20 W/m²/K towards 0 °C): the lake stays inversely
stratified, about 1 °C under the ice and 2-4 °C at the bottom.
The simulation starts at 4 °C on 1 January of a spin-up year before ``start_year``,
which is not returned.

Weather (synthetic, daily, mid-latitude continental climate; :func:`make_weather`)
---------------------------------------------------------------------------------
Air temperature is a seasonal sinusoid (8 ± 15 °C, coldest on 20 January) plus an
AR(1) anomaly (lag-one correlation 0.75, standard deviation 3.8 °C). Cloud cover
(AR(1), mapped to [0, 1]) dims the clear-sky short-wave radiation, raises relative
humidity and long-wave radiation (Brutsaert's clear-sky emissivity with a cloud
correction) and brings rain, or snow below 0 °C. Wind speed is log-normal
(median 4 m/s) with persistence. ``freezing`` is 1 when the air is below 0 °C;
``growing_deg_days`` is, as in the real table, one number per year: that year's degree
days above 10 °C divided by 100.

Observations and the physics model
----------------------------------
A profile is measured on a day with probability ``1/sample_every`` (``1/(4·sample_every)``
when the surface is colder than 1 °C) at the whole-metre depths, each reading missing
with probability ``missing``; a reading is the truth plus Gaussian noise of standard
deviation ``noise``, clipped at 0 °C. Like the quality-controlled Mendota record, the
observed profiles have no density inversions: where noise inverts neighbouring
readings, the same convective adjustment averages them (in a well-mixed layer this
shrinks the noise). The physics model is the same simulator with biased parameters
(:data:`MODEL_PARAMETERS`): more turbid water (light extinction 0.8 instead of
0.45 per m), a quarter of the wind mixing (an earlier, shallower, sharper
thermocline), a transfer coefficient 35 % too small and a deep diffusivity 1.5 times
too large. It is physically consistent (it convects too) but systematically wrong:
with the defaults its RMSE against the observations is about 2 °C (1.9-2.1 over
seeds): 1.3 °C at 0-8 m, about 2.7 °C at 9-14 m in the thermocline; models that
use ``Modeled_temp`` with the drivers and depth can do clearly better.
``model_bias`` scales the parameter errors (0 gives the true parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from numbers import Integral, Real
from pathlib import Path
from typing import Literal, TypeVar, overload

import numpy as np
import pandas as pd
from scipy.linalg import solve_banded
from scipy.signal import lfilter
from scipy.special import expit, ndtr

from tgds.datasets._files import read_table
from tgds.exceptions import DataError

__all__ = ["make_lake", "load_mendota"]

_FloatOrArray = TypeVar("_FloatOrArray", float, np.ndarray)

#: Columns of the observation table, in the order of the real Mendota table.
LAKE_COLUMNS = (
    "DateTime",
    "doy",
    "growing_deg_days",
    "Depth",
    "ShortWave",
    "LongWave",
    "AirTemp",
    "freezing",
    "RelHum",
    "WindSpeed",
    "Rain",
    "Snow",
    "Modeled_temp",
    "Observed_temp",
)

_DAY = 86400.0  # s
_RHO_CP = 4.18e6  # volumetric heat capacity of water, J/(m^3 K)
_SIGMA = 5.670e-8  # Stefan-Boltzmann constant, W/(m^2 K^4)
_EMISSIVITY = 0.97
_ALBEDO = 0.07
_RHO_AIR_CP = 1.2 * 1005.0  # J/(m^3 K)
_RHO_AIR_LV = 1.2 * 2.45e6  # J/m^3
_PRESSURE = 101325.0  # Pa
_THERMOCLINE_WIDTH = 0.5  # m
_ICE_LIGHT = 0.2  # fraction of the light that passes the ice
_ICE_CONDUCTANCE = 20.0  # W/(m^2 K) from the top layer into the ice


@dataclass(frozen=True)
class LakeParameters:
    """Parameters of the lake simulator; the defaults are the "true" lake.

    Attributes
    ----------
    light_extinction : float
        Light extinction coefficient ``k_d`` (1/m).
    wind_mixing : float
        Wind mixing coefficient ``c`` (kg s²/m⁴): the wind of speed ``U`` mixes through a
        density jump ``Δρ`` at depth ``z`` while ``Δρ·z < c·U²``.
    transfer : float
        Bulk transfer coefficient for sensible and latent heat (dimensionless).
    k_surface : float
        Eddy diffusivity in the wind-mixed layer (m²/s).
    k_deep : float
        Eddy diffusivity below the thermocline (m²/s).

    Examples
    --------
    >>> LakeParameters().light_extinction
    0.45
    """

    light_extinction: float = 0.45
    wind_mixing: float = 0.004
    transfer: float = 1.3e-3
    k_surface: float = 1e-3
    k_deep: float = 3e-6


#: The physics model's parameters (``model_bias=1``): the errors of an imperfect model.
MODEL_PARAMETERS = LakeParameters(
    light_extinction=0.8, wind_mixing=0.001, transfer=0.85e-3, k_surface=1e-3, k_deep=4.5e-6
)


def biased_parameters(bias: float) -> LakeParameters:
    """Parameters between the truth (``bias=0``) and :data:`MODEL_PARAMETERS` (``bias=1``).

    Each parameter moves geometrically: ``true · (model/true)**bias``.

    Examples
    --------
    >>> biased_parameters(0.0) == LakeParameters()
    True
    >>> round(biased_parameters(1.0).light_extinction, 6)
    0.8
    """
    true = LakeParameters()

    def move(name: str) -> float:
        value = getattr(true, name)
        return value * (getattr(MODEL_PARAMETERS, name) / value) ** bias

    return LakeParameters(**{f.name: move(f.name) for f in fields(LakeParameters)})


def water_density(temp: _FloatOrArray) -> _FloatOrArray:
    """Density of fresh water (kg/m³) at ``temp`` (°C, float or array), the lake theory's fit.

    Examples
    --------
    >>> water_density(np.array([4.0, 20.0])).round(1)
    array([1000. ,  998.2])
    """
    return 1000.0 * (
        1.0 - (temp + 288.9414) * (temp - 3.9863) ** 2 / (508929.2 * (temp + 68.12963))
    )


# --- weather -------------------------------------------------------------------------


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """A stationary AR(1) series with unit variance and lag-one correlation ``phi``."""
    innovations = rng.standard_normal(n) * np.sqrt(1.0 - phi**2)
    innovations[0] = rng.standard_normal()
    return lfilter([1.0], [1.0, -phi], innovations)


def _saturation_pressure(temp: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure (Pa) over water at ``temp`` (°C), Bolton's formula."""
    return 611.2 * np.exp(17.67 * temp / (temp + 243.5))


def make_weather(dates: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """Synthetic daily weather on ``dates``: the drivers of the lake simulator.

    Columns: ShortWave and LongWave (W/m²), AirTemp (°C), RelHum (%), WindSpeed (m/s),
    Rain and Snow (m/day), freezing (0/1) and growing_deg_days (one value per year).

    Examples
    --------
    >>> dates = pd.date_range("2001-01-01", "2001-12-31")
    >>> w = make_weather(dates, np.random.default_rng(0))
    >>> bool(w["AirTemp"].iloc[180:220].mean() > w["AirTemp"].iloc[:40].mean() + 20)
    True
    """
    n = len(dates)
    phase = 2 * np.pi * dates.day_of_year.to_numpy() / 365.25
    air = 8.0 - 15.0 * np.cos(phase - 2 * np.pi * 20 / 365.25) + 3.8 * _ar1(rng, n, 0.75)
    cloud = ndtr(_ar1(rng, n, 0.5))
    clear_sky = 220.0 + 130.0 * np.cos(phase - 2 * np.pi * 172 / 365.25)
    humidity = np.clip(75.0 + 18.0 * (cloud - 0.5) + 5.0 * rng.standard_normal(n), 30, 100)
    vapour = humidity / 100 * _saturation_pressure(air)
    emissivity = 1.24 * (vapour / 100 / (air + 273.15)) ** (1 / 7) * (1 + 0.17 * cloud**2)
    wind = np.clip(4.0 * np.exp(0.35 * _ar1(rng, n, 0.4)), 0.5, 20.0)
    precip = np.where(cloud > 0.65, rng.exponential(0.006, n), 0.0).clip(0, 0.2)
    frame = pd.DataFrame(
        {
            "ShortWave": clear_sky * (1 - 0.55 * cloud),
            "LongWave": np.minimum(emissivity, 1.0) * _SIGMA * (air + 273.15) ** 4,
            "AirTemp": air,
            "freezing": (air < 0).astype(int),
            "RelHum": humidity,
            "WindSpeed": wind,
            "Rain": np.where(air >= 0, precip, 0.0),
            "Snow": np.where(air < 0, precip, 0.0),
        },
        index=dates,
    )
    degree_days = np.maximum(air - 10.0, 0.0)
    frame["growing_deg_days"] = (
        pd.Series(degree_days, index=dates).groupby(dates.year).transform("sum") / 100
    )
    return frame


# --- physics -------------------------------------------------------------------------


def light_fractions(depths: np.ndarray, dz: float, extinction: float) -> np.ndarray:
    """Fraction of the surface light absorbed by each layer (Beer's law); they sum to 1.

    Layer ``i`` spans ``depths[i] ± dz/2`` (the top one starts at the surface); the
    light left at the bottom is absorbed by the bottom layer.

    Examples
    --------
    >>> f = light_fractions(np.arange(0.0, 5.5, 0.5), 0.5, 0.5)
    >>> round(float(f.sum()), 12), bool(np.all(np.diff(f[1:-1]) < 0))
    (1.0, True)
    """
    tops = np.maximum(depths - dz / 2, 0.0)
    remaining = np.exp(-extinction * tops)
    return remaining - np.append(remaining[1:], 0.0)


def mixing_depth(
    temp: np.ndarray, depths: np.ndarray, wind: float, params: LakeParameters
) -> float:
    """Depth (m) of the wind-mixed layer: where the wind's energy stops against stratification.

    A bulk Richardson criterion: the first depth ``z`` where ``(ρ(z) − ρ(0))·z`` (the
    work needed to mix through the density jump) exceeds ``wind_mixing·U²``; the bottom
    if there is none.

    Examples
    --------
    >>> depths = np.arange(0.0, 10.5, 0.5)
    >>> summer = np.where(depths < 5, 22.0, 10.0)
    >>> mixing_depth(summer, depths, 4.0, LakeParameters()), mixing_depth(
    ...     np.full(depths.size, 4.5), depths, 4.0, LakeParameters())
    (5.0, 10.0)
    """
    density = water_density(temp)
    work = (density - density[0]) * depths
    stop = np.flatnonzero(work > params.wind_mixing * wind**2)
    return float(depths[stop[0]] if stop.size else depths[-1])


def diffusivity(
    depths: np.ndarray, dz: float, mix_depth: float, params: LakeParameters
) -> np.ndarray:
    """Eddy diffusivity (m²/s) at the interfaces between layers, high above ``mix_depth``."""
    interfaces = depths[:-1] + dz / 2
    weight = expit((mix_depth - interfaces) / _THERMOCLINE_WIDTH)
    return params.k_deep + (params.k_surface - params.k_deep) * weight


def surface_flux(
    t_surface: float, air: float, humidity: float, wind: float, longwave: float, transfer: float
) -> tuple[float, float]:
    """Net non-solar heat flux into the lake (W/m²) and its derivative in ``t_surface``.

    Long-wave in minus out, sensible and latent heat by bulk formulas.

    Examples
    --------
    >>> flux, slope = surface_flux(20.0, 20.0, 70.0, 4.0, 350.0, 1.3e-3)
    >>> round(flux), slope < 0
    (-132, True)
    """
    kelvin = t_surface + 273.15
    e_sat = _saturation_pressure(t_surface)
    q_sat = 0.622 * e_sat / _PRESSURE
    q_air = 0.622 * humidity / 100 * _saturation_pressure(air) / _PRESSURE
    sensible = _RHO_AIR_CP * transfer * wind
    latent = _RHO_AIR_LV * transfer * wind
    flux = (
        _EMISSIVITY * (longwave - _SIGMA * kelvin**4)
        + sensible * (air - t_surface)
        + latent * (q_air - q_sat)
    )
    dq_sat = q_sat * 17.67 * 243.5 / (t_surface + 243.5) ** 2
    slope = -4 * _EMISSIVITY * _SIGMA * kelvin**3 - sensible - latent * dq_sat
    return float(flux), float(slope)


def diffuse(
    temp: np.ndarray,
    kappa: np.ndarray,
    dz: float,
    dt: float,
    heating: np.ndarray | None = None,
    surface_loss: float = 0.0,
) -> np.ndarray:
    """One backward-Euler step of ``∂T/∂t = ∂/∂z(K ∂T/∂z)`` with no flux through the ends.

    Parameters
    ----------
    temp : ndarray, shape (n,)
        Temperatures of ``n`` layers of thickness ``dz`` (m), top first.
    kappa : ndarray, shape (n - 1,)
        Diffusivity ``K`` (m²/s) at the interfaces between layers.
    dt : float
        Time step (s); any length is stable.
    heating : ndarray, shape (n,), optional
        Temperature added to each layer during the step (K).
    surface_loss : float
        ``a ≥ 0`` in the top layer's balance ``… − a·T₀(new)``: how a linearised surface
        flux ``Q + Q'·(T₀(new) − T₀)`` is made implicit, ``a = −Q'·dt/(ρ c_p dz)``.

    Returns
    -------
    ndarray, shape (n,)
        The new temperatures. With ``surface_loss=0`` their sum equals
        ``temp.sum() + heating.sum()``: the step conserves heat.

    Examples
    --------
    >>> t = diffuse(np.array([10.0, 0.0]), np.array([1e-3]), 1.0, 1e6)  # K dt/dz² = 1000
    >>> t.round(4), round(float(t.sum()), 9)  # the difference shrinks by 1/(1 + 2·1000)
    (array([5.0025, 4.9975]), 10.0)
    """
    ratio = np.asarray(kappa, dtype=float) * dt / dz**2
    bands = np.zeros((3, temp.size))
    bands[0, 1:] = -ratio
    bands[2, :-1] = -ratio
    bands[1] = 1.0 + np.append(ratio, 0.0) + np.append(0.0, ratio)
    bands[1, 0] += surface_loss
    rhs = temp + (0.0 if heating is None else heating)
    return solve_banded((1, 1), bands, rhs, check_finite=False)


def convect(temp: np.ndarray) -> np.ndarray:
    """Mix adjacent layers (equal volumes) until density never decreases with depth.

    Pool-adjacent-violators from the top: each layer joins the stack of mixed blocks
    above it, and a block denser than the one below merges with it (their mean
    temperature), so heat is conserved and the result is statically stable.

    Examples
    --------
    >>> convect(np.array([20.0, 18.0, 19.0, 10.0])).tolist()
    [20.0, 18.5, 18.5, 10.0]
    >>> convect(np.array([0.0, 2.0, 4.0])).tolist()  # winter: cold water floats
    [0.0, 2.0, 4.0]
    """
    density = water_density(temp)
    if np.all(np.diff(density) >= 0):
        return temp
    sums: list[float] = []
    counts: list[int] = []
    densities: list[float] = []  # of each block's mean, kept with the block
    for value in temp:
        sums.append(float(value))
        counts.append(1)
        densities.append(water_density(sums[-1] / counts[-1]))
        while len(sums) > 1 and densities[-2] > densities[-1]:
            total, count = sums.pop(), counts.pop()
            densities.pop()
            sums[-1] += total
            counts[-1] += count
            densities[-1] = water_density(sums[-1] / counts[-1])
    return np.repeat(np.array(sums) / np.array(counts), counts)


# --- simulation ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Lake:
    """What stays fixed during a simulation: the grid, the light profile, the parameters."""

    depths: np.ndarray
    dz: float
    light: np.ndarray
    params: LakeParameters


def _step(temp: np.ndarray, day: dict[str, float], ice: bool, lake: _Lake) -> np.ndarray:
    """The temperatures one day later."""
    heating = (1 - _ALBEDO) * day["ShortWave"] * (_ICE_LIGHT if ice else 1.0) * lake.light
    if ice:  # no wind mixing, no exchange with the air
        kappa = np.full(temp.size - 1, lake.params.k_deep)
        # heat conducted into the ice at 0 degC: -K * T_top, implicit in T_top
        flux, slope = -_ICE_CONDUCTANCE * temp[0], -_ICE_CONDUCTANCE
    else:
        mix = mixing_depth(temp, lake.depths, day["WindSpeed"], lake.params)
        kappa = diffusivity(lake.depths, lake.dz, mix, lake.params)
        flux, slope = surface_flux(
            temp[0],
            day["AirTemp"],
            day["RelHum"],
            day["WindSpeed"],
            day["LongWave"],
            lake.params.transfer,
        )
    heating[0] += flux - slope * temp[0]
    scale = _DAY / (_RHO_CP * lake.dz)  # W/m^2 over one day -> K in one layer
    new = diffuse(temp, kappa, lake.dz, _DAY, heating * scale, -slope * scale)
    return convect(np.maximum(new, 0.0))


def simulate_lake(
    weather: pd.DataFrame, depths: np.ndarray, params: LakeParameters, initial: float = 4.0
) -> np.ndarray:
    """Daily temperature profiles (°C), shape ``(len(weather), len(depths))``.

    ``depths`` must be evenly spaced from 0; row ``d`` is the profile at the end of day
    ``d``; the lake starts isothermal at ``initial`` °C. Ice forms when the surface water
    reaches 0 °C on a day below freezing and breaks when the air temperature of the past
    week averages above 0 °C.

    Examples
    --------
    >>> dates = pd.date_range("2001-01-01", "2001-12-31")
    >>> w = make_weather(dates, np.random.default_rng(0))
    >>> temp = simulate_lake(w, np.arange(0.0, 20.5, 0.5), LakeParameters())
    >>> july = temp[dates.month == 7]
    >>> temp.shape, bool(np.all(july[:, 0] > july[:, -1] + 5))
    ((365, 41), True)
    """
    depths = np.asarray(depths, dtype=float)
    dz = float(depths[1] - depths[0])
    lake = _Lake(depths, dz, light_fractions(depths, dz, params.light_extinction), params)
    days = weather[["ShortWave", "LongWave", "AirTemp", "RelHum", "WindSpeed"]].to_dict("records")
    thaw = weather["AirTemp"].rolling(7, min_periods=1).mean().to_numpy() > 0.0
    temp = np.full(depths.size, float(initial))
    out = np.empty((len(days), depths.size))
    ice = False
    for i, day in enumerate(days):
        temp = _step(temp, day, ice, lake)
        ice = (ice and not thaw[i]) or (temp[0] <= 0.0 and day["AirTemp"] < 0.0)
        out[i] = temp
    return out


# --- observations and tables ---------------------------------------------------------


def _observe(
    truth: np.ndarray,
    depths: np.ndarray,
    rng: np.random.Generator,
    sample_every: float,
    noise: float,
    missing: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse noisy readings of ``truth``: (day index, depth index, temperature) per reading."""
    columns = np.flatnonzero(np.isclose(depths, np.round(depths)))  # whole metres
    rate = np.where(truth[:, 0] > 1.0, 1.0, 0.25) / sample_every  # winter: less often
    sampled = rng.random(truth.shape[0]) < rate
    present = rng.random((truth.shape[0], columns.size)) >= missing
    readings = truth[:, columns] + noise * rng.standard_normal((truth.shape[0], columns.size))
    days, where, values = [], [], []
    for day in np.flatnonzero(sampled):
        keep = np.flatnonzero(present[day])
        days.append(np.full(keep.size, day))
        where.append(columns[keep])
        values.append(convect(np.maximum(readings[day, keep], 0.0)))  # stable, like QC'd data
    if not days:
        return np.array([], int), np.array([], int), np.array([])
    return np.concatenate(days), np.concatenate(where), np.concatenate(values)


def _table(
    weather: pd.DataFrame,
    depths: np.ndarray,
    modeled: np.ndarray,
    day: np.ndarray,
    level: np.ndarray,
) -> pd.DataFrame:
    """The table's columns at the (day index, depth index) pairs, without Observed_temp."""
    dates = weather.index[day]
    frame = pd.DataFrame(
        {
            "DateTime": dates.strftime("%Y-%m-%d"),
            "doy": dates.day_of_year.to_numpy(),
            "growing_deg_days": weather["growing_deg_days"].to_numpy()[day],
            "Depth": depths[level],
        }
    )
    for name in LAKE_COLUMNS[4:-2]:
        frame[name] = weather[name].to_numpy()[day]
    frame["Modeled_temp"] = modeled[day, level]
    return frame


# --- public functions ----------------------------------------------------------------

_DZ_CHOICES = (0.1, 0.2, 0.25, 0.5, 1.0)


def _require(ok: bool, name: str, expected: str, value: object, owner: str = "make_lake") -> None:
    if not ok:
        raise DataError(f"{owner}: {name} must be {expected}; got {value!r}.")


def _is_real(value: object) -> bool:
    """A finite real number (a Fraction too; not a bool, not an int too large for a float)."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return bool(np.isfinite(float(value)))
    except OverflowError:
        return False


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _validate(
    n_years: object,
    start_year: object,
    max_depth: object,
    dz: object,
    sample_every: object,
    noise: object,
    missing: object,
    model_bias: object,
    seed: object,
    return_grid: object,
) -> None:
    _require(_is_int(n_years) and 1 <= n_years <= 50, "n_years", "an integer in [1, 50]", n_years)
    _require(
        _is_int(start_year) and 1700 <= start_year <= 2200,
        "start_year",
        "an integer in [1700, 2200]",
        start_year,
    )
    _require(
        _is_real(max_depth) and float(max_depth).is_integer() and 2 <= max_depth <= 25,
        "max_depth",
        "a whole number of metres in [2, 25] (the lake theory bounds Depth by 25.3 m)",
        max_depth,
    )
    _require(
        _is_real(dz) and dz in _DZ_CHOICES,
        "dz",
        f"one of {', '.join(map(str, _DZ_CHOICES))} (m)",
        dz,
    )
    _require(
        _is_real(sample_every) and sample_every >= 1,
        "sample_every",
        "a number of days >= 1",
        sample_every,
    )
    _require(_is_real(noise) and 0 <= noise <= 5, "noise", "a number in [0, 5] (degC)", noise)
    _require(_is_real(missing) and 0 <= missing < 1, "missing", "a number in [0, 1)", missing)
    _require(
        _is_real(model_bias) and 0 <= model_bias <= 3,
        "model_bias",
        "a number in [0, 3]",
        model_bias,
    )
    _require(_is_int(seed) and seed >= 0, "seed", "a non-negative integer", seed)
    _require(isinstance(return_grid, bool | np.bool_), "return_grid", "True or False", return_grid)


@overload
def make_lake(
    *,
    n_years: int = ...,
    start_year: int = ...,
    max_depth: float = ...,
    dz: float = ...,
    sample_every: float = ...,
    noise: float = ...,
    missing: float = ...,
    model_bias: float = ...,
    seed: int = ...,
    return_grid: Literal[False] = ...,
) -> pd.DataFrame: ...


@overload
def make_lake(
    *,
    n_years: int = ...,
    start_year: int = ...,
    max_depth: float = ...,
    dz: float = ...,
    sample_every: float = ...,
    noise: float = ...,
    missing: float = ...,
    model_bias: float = ...,
    seed: int = ...,
    return_grid: Literal[True],
) -> tuple[pd.DataFrame, pd.DataFrame]: ...


def make_lake(
    *,
    n_years: int = 3,
    start_year: int = 2010,
    max_depth: float = 20,
    dz: float = 0.5,
    sample_every: float = 7.0,
    noise: float = 0.3,
    missing: float = 0.1,
    model_bias: float = 1.0,
    seed: int = 0,
    return_grid: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate lake temperature observations and an imperfect physics model's output.

    The physics, the weather and the biases are described in the module docstring
    (``help(tgds.datasets._lake)``). Deterministic for a given ``seed``.

    Parameters
    ----------
    n_years : int
        Years simulated and returned, from 1 January of ``start_year`` (a spin-up year
        before it is simulated and dropped).
    start_year : int
        First calendar year of the data.
    max_depth : float
        Depth of the lake (m), a whole number in [2, 25].
    dz : float
        Layer thickness of the simulation (m): 0.1, 0.2, 0.25, 0.5 or 1.
    sample_every : float
        Mean number of days between measured profiles in open water (four times as many
        when the surface is colder than 1 °C).
    noise : float
        Standard deviation of the measurement noise (°C).
    missing : float
        Probability that one reading of a measured profile is missing.
    model_bias : float
        Size of the physics model's parameter errors: 0 gives the true parameters (then
        ``Modeled_temp`` is the noise-free truth), 1 the documented biases.
    seed : int
        Seed of the random numbers (weather, sampling, noise).
    return_grid : bool
        Also return the unlabeled grid: every date and every simulated depth with the
        drivers and ``Modeled_temp`` but no ``Observed_temp``, for physics losses.

    Returns
    -------
    observations : pandas.DataFrame
        One row per reading, sorted by date and depth, with the columns of the real
        Mendota table (see :func:`load_mendota`): DateTime (ISO date string), doy,
        growing_deg_days, Depth, ShortWave, LongWave, AirTemp, freezing, RelHum,
        WindSpeed, Rain, Snow, Modeled_temp and Observed_temp. With the defaults about
        150 profiles and 2,800 rows (2,300-3,200 over seeds) at the whole metres 0-20 m.
    grid : pandas.DataFrame
        Only with ``return_grid=True``: the same columns without Observed_temp, one row
        per date and depth (1,096 dates x 41 depths with the defaults).

    Raises
    ------
    DataError
        If an argument is out of range or of the wrong type (``return_grid`` must be a
        bool); the message names it.

    Examples
    --------
    >>> obs, grid = make_lake(n_years=1, return_grid=True)
    >>> list(obs.columns) == list(LAKE_COLUMNS), "Observed_temp" in grid
    (True, False)
    >>> len(grid) == 365 * 41, bool(obs["Observed_temp"].between(0, 35).all())
    (True, True)
    """
    _validate(
        n_years,
        start_year,
        max_depth,
        dz,
        sample_every,
        noise,
        missing,
        model_bias,
        seed,
        return_grid,
    )
    dz = _DZ_CHOICES[_DZ_CHOICES.index(dz)]  # the float64 choice, not np.float32(0.1)
    # plain floats: a Fraction noise made Observed_temp a column of Python objects
    max_depth, sample_every, noise, missing, model_bias = map(
        float, (max_depth, sample_every, noise, missing, model_bias)
    )
    rng = np.random.default_rng(seed)
    dates = pd.date_range(f"{start_year - 1}-01-01", f"{start_year + n_years - 1}-12-31")
    weather = make_weather(dates, rng)
    # rounded: 3 * 0.1 is 0.30000000000000004 (multiples of 0.5 and 1 are exact anyway)
    depths = np.round(np.arange(round(max_depth / dz) + 1) * dz, 9)
    keep = dates.year >= start_year
    truth = simulate_lake(weather, depths, LakeParameters())[keep]
    modeled = simulate_lake(weather, depths, biased_parameters(model_bias))[keep]
    weather = weather[keep]
    day, level, observed = _observe(truth, depths, rng, sample_every, noise, missing)
    observations = _table(weather, depths, modeled, day, level)
    observations["Observed_temp"] = observed
    if not return_grid:
        return observations
    every = np.arange(truth.size)
    grid = _table(weather, depths, modeled, every // depths.size, every % depths.size)
    return observations, grid


def load_mendota(path: str | Path) -> pd.DataFrame:
    """Read the real Lake Mendota table (not bundled) from ``path`` and check its columns.

    The table of Daw, Karpatne et al., "Physics-guided Neural Networks (PGNN)"
    (arXiv:1710.11431), 13,543 observed temperatures 1980-2015, lives outside the
    package, e.g. at ``../shared/data/lake/mendota_pgnn_table.csv`` from the
    repository root (its source and the figures measured on it are in
    ``../shared/data/README.md``). It has the columns that :func:`make_lake` produces
    (plus ``Modeled_temp_tuned``), so the same theory (``examples/lake.toml``) and the
    same features work on both. Nothing is parsed or converted: DateTime stays a string.

    Raises
    ------
    DataError
        If the file is missing or unreadable, or lacks any of the columns; the message
        lists the missing ones.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "lake.csv"
    >>> make_lake(n_years=1).to_csv(path, index=False)
    >>> load_mendota(path).columns[:4].tolist()
    ['DateTime', 'doy', 'growing_deg_days', 'Depth']
    """
    frame = read_table(path)
    absent = [name for name in LAKE_COLUMNS if name not in frame.columns]
    if absent:
        raise DataError(
            f"load_mendota: the table '{path}' lacks the column(s) {', '.join(absent)}; "
            f"a Mendota lake table has {', '.join(LAKE_COLUMNS)}."
        )
    return frame
