"""A predator-prey (Lotka-Volterra) simulator that makes noisy, gappy field records."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from tgds.datasets._files import bundled_path, read_table
from tgds.datasets._lake import _is_int, _is_real, _require
from tgds.exceptions import DataError

__all__ = ["make_lotka_volterra", "load_lotka_volterra"]


def make_lotka_volterra(
    *,
    n_years: int = 21,
    start_year: int = 1900,
    alpha: float = 0.55,
    beta: float = 0.028,
    gamma: float = 0.80,
    delta: float = 0.024,
    initial: tuple[float, float] = (33.0, 6.2),
    noise: float = 0.25,
    missing: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate yearly hare and lynx counts (thousands) with lognormal noise and gaps.

    ``dHare/dt = alpha*Hare - beta*Hare*Lynx``, ``dLynx/dt = -gamma*Lynx + delta*Hare*Lynx``,
    solved with ``scipy.integrate.solve_ivp`` (RK45, rtol 1e-8); each value is
    multiplied by ``exp(noise * N(0, 1))`` and a fraction ``missing`` of values is
    replaced by NaN (gaps in the records). Deterministic for a given ``seed``.

    Examples
    --------
    >>> df = make_lotka_volterra(n_years=5, missing=0.0)
    >>> list(df.columns), len(df)
    (['Year', 'Hare', 'Lynx'], 5)
    """
    _validate(n_years, start_year, (alpha, beta, gamma, delta), initial, noise, missing, seed)
    # plain floats: NumPy cannot take exp of a Fraction noise
    alpha, beta, gamma, delta, noise, missing = map(
        float, (alpha, beta, gamma, delta, noise, missing)
    )
    years = np.arange(n_years, dtype=float)

    def rates(_t: float, y: np.ndarray) -> list[float]:
        hare, lynx = y
        return [alpha * hare - beta * hare * lynx, -gamma * lynx + delta * hare * lynx]

    with np.errstate(all="ignore"):  # a blow-up is reported below, not as warnings
        sol = solve_ivp(
            rates, (0.0, years[-1]), [float(v) for v in initial], t_eval=years, rtol=1e-8, atol=1e-8
        )
    if not sol.success or sol.y.shape[1] != n_years or not np.isfinite(sol.y).all():
        raise DataError(
            f"make_lotka_volterra: the ODE solver failed ({sol.message}); the populations "
            "explode or vanish with these rates: check alpha, beta, gamma, delta and initial."
        )
    rng = np.random.default_rng(seed)
    values = sol.y.T * np.exp(noise * rng.standard_normal(sol.y.T.shape))
    values[rng.random(values.shape) < missing] = np.nan
    return pd.DataFrame(
        {
            "Year": start_year + years.astype(int),
            "Hare": values[:, 0].round(2),
            "Lynx": values[:, 1].round(2),
        }
    )


def _validate(n_years, start_year, rates, initial, noise, missing, seed) -> None:
    def require(ok: bool, name: str, expected: str, value: object) -> None:
        _require(ok, name, expected, value, owner="make_lotka_volterra")

    # bounded: ten thousand years take 2 s; a typo of 10**9 ran for hours
    ok = _is_int(n_years) and 2 <= n_years <= 10_000
    require(ok, "n_years", "an integer in [2, 10000]", n_years)
    # bounded: the Year column is int64, and near 2**63 it wrapped round to negative years
    ok = _is_int(start_year) and abs(start_year) <= 1_000_000
    require(ok, "start_year", "an integer in [-1000000, 1000000]", start_year)
    for name, value in zip(("alpha", "beta", "gamma", "delta"), rates, strict=True):
        require(_is_real(value) and value >= 0, name, "a finite number >= 0", value)
    ok = (
        isinstance(initial, tuple | list)
        and len(initial) == 2
        and all(_is_real(v) and v > 0 for v in initial)
    )
    require(ok, "initial", "a tuple (hare, lynx) of two finite populations > 0", initial)
    for name, value in (("noise", noise), ("missing", missing)):
        require(_is_real(value) and 0 <= value < 1, name, "a number in [0, 1)", value)
    require(_is_int(seed) and seed >= 0, "seed", "an integer >= 0", seed)


def load_lotka_volterra() -> pd.DataFrame:
    """The bundled records: ``make_lotka_volterra()`` with its defaults, saved as CSV."""
    return read_table(bundled_path("lotka_volterra.csv"))
