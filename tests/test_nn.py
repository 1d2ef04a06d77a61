"""The nn layer: physics terms on analytic functions, physical units, the training loop."""

from __future__ import annotations

import math
import pickle
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tgds.exceptions import DataError, TgdsError, TheoryError
from tgds.nn import (
    MLP,
    FixedWeights,
    LossTerm,
    ReLoBRaLo,
    TermContext,
    TrainingError,
    TrainSettings,
    build_physics_terms,
    l2_penalty,
    make_network,
    train,
    trainable_filter,
)
from tgds.theory import (
    Bounds,
    Equation,
    Interactions,
    Invariance,
    Monotonic,
    Parameter,
    Reflection,
    Relation,
    Shape,
    Theory,
    Variable,
)
from tgds.utils import group_codes, monotone_pairs, read_container, write_container


def _train(net, terms, settings, key: int = 0, **kwargs):
    """``train`` of every trainable array of ``net`` from ``PRNGKey(key)``."""
    return train(
        net, terms, settings, jax.random.PRNGKey(key), trainable=trainable_filter(net), **kwargs
    )


def _assert_same_arrays(a, b) -> None:
    """The array leaves of two Equinox modules are equal, leaf by leaf."""
    for x, y in zip(
        jax.tree_util.tree_leaves(eqx.filter(a, eqx.is_array)),
        jax.tree_util.tree_leaves(eqx.filter(b, eqx.is_array)),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)


def _theory(*constraints, relations=(), parameters=()):
    return Theory(
        variables=[
            Variable("x", "m"),
            Variable("t", "s", role="time"),
            Variable("g", role="group"),
            Variable("u", "m/s", role="target"),
        ],
        parameters=list(parameters),
        relations=list(relations),
        constraints=list(constraints),
    )


def _context(theory, fn, *, scales=None, feature_scales=(1.0, 1.0), margin=0.0):
    """A context whose 'model' is an analytic function of (x, t)."""
    return TermContext(
        theory=theory,
        features=("x", "t"),
        targets=("u",),
        extras=(),
        params=theory.parameter_values(),
        output=lambda model, p: jnp.atleast_1d(fn(p[0], p[1])),
        scales=scales or {"u": 1.0},
        feature_scales=list(feature_scales),
        margin=margin,
    )


def _points(n=41):
    x = np.linspace(0.0, 1.0, n)
    t = np.full(n, 0.5)
    return {"x": np.column_stack([x, t]), "e": np.zeros((n, 0))}


def _value(term, points=None):
    pts = points if points is not None else term.points
    return float(term.fn(None, {k: jnp.asarray(v) for k, v in pts.items()}))


def _one_term(theory, fn, constraint, points=None, group_codes=None, **ctx_kwargs):
    terms, skipped = build_physics_terms(
        _context(theory, fn, **ctx_kwargs),
        [constraint],
        points or _points(),
        group_codes,
        {"*": 1.0},
        64,
    )
    assert not skipped
    (term,) = terms
    return term


# -- monotonicity ---------------------------------------------------------------------------
def test_monotone_function_has_zero_penalty():
    c = Monotonic("u", wrt="x")
    theory = _theory(c)
    assert _value(_one_term(theory, lambda x, t: x**3 + x, c)) == 0.0


def test_decreasing_function_has_known_derivative_penalty():
    c = Monotonic("u", wrt="x")
    theory = _theory(c)
    # u = -2x: du/dx = -2 everywhere; penalty mean(relu(2)) * x_scale / u_scale
    term = _one_term(theory, lambda x, t: -2.0 * x, c, scales={"u": 4.0}, feature_scales=(3.0, 1.0))
    assert _value(term) == pytest.approx(2.0 * 3.0 / 4.0, rel=1e-6)


def test_decreasing_direction_penalises_increase():
    c = Monotonic("u", wrt="x", direction="decreasing")
    theory = _theory(c)
    assert _value(_one_term(theory, lambda x, t: -(x**2), c)) == 0.0
    assert _value(_one_term(theory, lambda x, t: 5.0 * x, c)) == pytest.approx(5.0, rel=1e-6)


def test_pairwise_penalty_within_groups():
    c = Monotonic("u", wrt="x", within="g")
    theory = _theory(c)
    n = 11
    x = np.tile(np.linspace(0, 1, n), 2)
    pts = {"x": np.column_stack([x, np.zeros_like(x)]), "e": np.zeros((2 * n, 0))}
    codes = np.repeat([0, 1], n)
    # u = -x: each consecutive pair (dx = 0.1) decreases by 0.1
    term = _one_term(theory, lambda x, t: -x, c, points=pts, group_codes=codes)
    assert term.n_points == 2 * (n - 1)  # pairs only within each group
    assert _value(term) == pytest.approx(0.1, rel=1e-5)
    assert _value(_one_term(theory, lambda x, t: x, c, points=pts, group_codes=codes)) == 0.0


def test_pairwise_penalty_on_a_relation_of_the_output():
    rel = Relation("rho", "1000 - (u - 4)**2", unit="1", empirical=True)
    c = Monotonic("rho", wrt="x", within="g")
    theory = _theory(c, relations=[rel])
    x = np.array([0.0, 1.0, 2.0])
    pts = {"x": np.column_stack([x, np.zeros(3)]), "e": np.zeros((3, 0))}
    codes = np.zeros(3, dtype=int)
    # u = 4 + x: rho = 1000 - x^2 decreases along x by 1 then 3. Each violation is measured
    # as a distance in u: the drop over the rms slope |drho/du| = 2|u - 4| at the two points,
    # sqrt((0 + 4) / 2) and sqrt((4 + 16) / 2): mean(1 / sqrt(2), 3 / sqrt(10))
    term = _one_term(
        theory, lambda x, t: 4.0 + x, c, points=pts, group_codes=codes, scales={"rho": 1.0}
    )
    expected = (1 / np.sqrt(2) + 3 / np.sqrt(10)) / 2
    assert _value(term) == pytest.approx(expected, rel=1e-5)
    # in standardised units of u: a target scale of 2 halves the distance
    term = _one_term(
        theory,
        lambda x, t: 4.0 + x,
        c,
        points=pts,
        group_codes=codes,
        scales={"rho": 1.0, "u": 2.0},
    )
    assert _value(term) == pytest.approx(expected / 2, rel=1e-5)


def test_pairwise_distance_does_not_vanish_where_the_relation_is_flat():
    # near u = 4 the relation is flat: a drop of u by 0.01 changes rho by only ~1e-4,
    # but the distance is the drop of u itself (to first order)
    rel = Relation("rho", "-((u - 4)**2)", unit="1", empirical=True)
    c = Monotonic("rho", wrt="x", within="g")
    theory = _theory(c, relations=[rel])
    pts = {"x": np.array([[0.0, 0.0], [1.0, 0.0]]), "e": np.zeros((2, 0))}
    codes = np.zeros(2, dtype=int)
    term = _one_term(
        theory, lambda x, t: 4.2 + 0.01 * x, c, points=pts, group_codes=codes, scales={"rho": 1.0}
    )
    # rho(4.2) - rho(4.21) = 0.0041 (float32 would lose it next to 1000); rms slope sqrt((0.4^2 + 0.42^2) / 2)
    expected = (0.21**2 - 0.2**2) / np.sqrt((0.4**2 + 0.42**2) / 2)
    assert _value(term) == pytest.approx(expected, rel=1e-4)
    assert expected == pytest.approx(0.01, rel=0.05)
    # flatter than the floor (a tenth of rho's scale): the difference over the floor
    term = _one_term(
        theory, lambda x, t: 4.01 + 0.01 * x, c, points=pts, group_codes=codes, scales={"rho": 1.0}
    )
    assert _value(term) == pytest.approx((0.02**2 - 0.01**2) / 0.1, rel=1e-3)


def test_pairwise_margin_penalises_ties_and_near_ties():
    c = Monotonic("u", wrt="x", within="g")
    theory = _theory(c)
    pts = {"x": np.array([[0.0, 0.0], [1.0, 0.0]]), "e": np.zeros((2, 0))}
    codes = np.zeros(2, dtype=int)

    def term(fn, margin):
        return _one_term(theory, fn, c, points=pts, group_codes=codes, margin=margin)

    assert _value(term(lambda x, t: 0.0 * x, 0.0)) == 0.0  # a tie is no violation
    assert _value(term(lambda x, t: 0.0 * x, 0.1)) == pytest.approx(0.1)  # unless margin
    assert _value(term(lambda x, t: 0.05 * x, 0.1)) == pytest.approx(0.05)  # ordered by less
    assert _value(term(lambda x, t: 0.2 * x, 0.1)) == 0.0  # ordered by more than the margin


def test_monotone_pairs_only_pairs_neighbours_in_one_group():
    wrt = np.array([3.0, 1.0, 2.0, 1.0, 5.0, 5.0])
    groups = np.array([0, 0, 0, 1, 1, 1])
    pairs = monotone_pairs(wrt, groups)
    # equal depths (rows 4 and 5) are not paired with each other; each pairs with the level above
    assert pairs.tolist() == [[1, 2], [2, 0], [3, 4], [3, 5]]


def test_rows_with_a_missing_group_value_are_never_paired():
    # a missing value in any group column puts the row in no group, not in a group of its own
    codes = group_codes([np.array(["d1", "d1", None, None]), np.array([1.0, 1.0, 1.0, 1.0])])
    assert codes.tolist() == [0, 0, -1, -1]
    codes = group_codes([np.array(["d1", "d1", "d2", "d2"]), np.array([1.0, 1.0, np.nan, np.nan])])
    assert codes.tolist() == [0, 0, -1, -1]
    assert monotone_pairs(np.array([0.0, 1.0, 0.0, 1.0]), codes).tolist() == [[0, 1]]


# -- bounds, shape, invariance ------------------------------------------------------------
def test_bounds_penalty_is_the_mean_excess():
    c = Bounds("u", lower=0.0, upper=0.5)
    theory = _theory(c)
    # u = x on [0, 1]: excess max(x - 0.5, 0), mean over a uniform grid = 0.125
    term = _one_term(theory, lambda x, t: x, c, points=_points(1001), scales={"u": 2.0})
    assert _value(term) == pytest.approx(0.125 / 2.0, rel=1e-3)


def test_shape_penalty_uses_the_second_derivative():
    c = Shape("u", wrt="x", curvature="convex")
    theory = _theory(c)
    assert _value(_one_term(theory, lambda x, t: x**2, c)) == 0.0
    assert _value(_one_term(theory, lambda x, t: -3.0 * x**2, c)) == pytest.approx(6.0, rel=1e-5)


def test_invariance_penalty():
    c = Invariance(Reflection("x"), quantity="u", output_scale=-1.0)
    theory = _theory(c)
    x = np.linspace(-1, 1, 21)
    pts = {"x": np.column_stack([x, np.zeros_like(x)]), "e": np.zeros((21, 0))}
    assert _value(_one_term(theory, lambda x, t: jnp.sin(x), c, points=pts)) == pytest.approx(
        0.0, abs=1e-12
    )
    # u = 1 + x is not odd: (u(-x) + u(x))^2 = 4 everywhere
    assert _value(_one_term(theory, lambda x, t: 1.0 + x, c, points=pts)) == pytest.approx(
        4.0, rel=1e-6
    )


def test_interactions_are_skipped_with_a_reason():
    c = Interactions([["x", "t"]])
    theory = _theory(c)
    terms, skipped = build_physics_terms(
        _context(theory, lambda x, t: x), [c], _points(), None, {}, 8
    )
    assert terms == [] and "tree ensembles" in skipped[0]


@pytest.mark.parametrize(
    "constraint",
    [
        Bounds("x", lower=0.0),
        Invariance(Reflection("t"), quantity="x"),
    ],
)
def test_constraints_on_an_input_are_skipped_with_a_reason(constraint):
    # a constraint on an input holds in the data or not; no network weight can change it
    theory = _theory(constraint)
    terms, skipped = build_physics_terms(
        _context(theory, lambda x, t: x), [constraint], _points(), None, {}, 8
    )
    assert terms == [] and "neither an output of the model" in skipped[0]


def test_relation_needing_an_unknown_column_is_refused():
    theory = Theory(
        variables=[Variable("x", "m"), Variable("z", "m"), Variable("u", "m", role="target")],
        relations=[Relation("w", "u + z")],
        constraints=[Bounds("w", upper=1.0)],
    )
    ctx = _context(theory, lambda x, t: x)
    with pytest.raises(TheoryError, match="needs 'z'"):
        build_physics_terms(ctx, list(theory.constraints), _points(), None, {}, 8)


# -- equations in physical units -------------------------------------------------------------
def _make(x, y, *, key=0, **kw):
    """A small tanh network fitted to the scales of ``x`` and ``y`` (2-D), without bounds."""
    options = dict(
        hidden=(8,),
        activation="tanh",
        fourier_features=0,
        fourier_scale=1.0,
        lower=np.full(y.shape[1], -np.inf),
        upper=np.full(y.shape[1], np.inf),
        hard_bounds=False,
    )
    return make_network(x, y, key=jax.random.PRNGKey(key), **{**options, **kw})


def _network(x_shift, x_scale, y_shift, y_scale, key=0):
    net = _make(
        np.array([[x_shift - x_scale, 0.0], [x_shift + x_scale, 2.0]]),
        np.array([[y_shift - y_scale], [y_shift + y_scale]]),
        key=key,
    )
    assert float(net.x_scale[0]) == pytest.approx(x_scale) and float(
        net.y_scale[0]
    ) == pytest.approx(y_scale)
    return net


def test_equation_residual_is_in_physical_units_under_scaling():
    nu = 0.3
    eq = Equation("D(u, t) + u*D(u, x) - nu*D(u, x, 2)")
    theory = _theory(eq, parameters=[Parameter("nu", "m^2/s", value=nu)])
    net = _network(x_shift=100.0, x_scale=50.0, y_shift=7.0, y_scale=3.0)
    ctx = TermContext(
        theory=theory,
        features=("x", "t"),
        targets=("u",),
        extras=(),
        params={"nu": nu},
        output=lambda model, p: model(p),
        scales={"u": 1.0},
        feature_scales=[50.0, 1.0],
    )
    pts = np.column_stack([np.linspace(60.0, 140.0, 9), np.linspace(0.2, 1.8, 9)])
    terms, _ = build_physics_terms(ctx, [eq], {"x": pts, "e": np.zeros((9, 0))}, None, {}, 16)
    with jax.enable_x64(True):
        net64 = jax.tree_util.tree_map(
            lambda a: jnp.asarray(a, jnp.float64) if eqx.is_inexact_array(a) else a, net
        )
        got = float(terms[0].fn(net64, {"x": jnp.asarray(pts), "e": jnp.zeros((9, 0))}))

        def u(x, t):
            return float(net64(jnp.array([x, t]))[0])

        h = 1e-3
        res = []
        for x, t in pts:
            ut = (u(x, t + h) - u(x, t - h)) / (2 * h)
            ux = (u(x + h, t) - u(x - h, t)) / (2 * h)
            uxx = (u(x + h, t) - 2 * u(x, t) + u(x - h, t)) / h**2
            res.append(ut + u(x, t) * ux - nu * uxx)
    assert got == pytest.approx(float(np.mean(np.square(res))), rel=1e-4)
    assert got > 0  # a random network does not solve Burgers' equation


# -- networks --------------------------------------------------------------------------------
def test_hard_bounds_keep_outputs_inside():
    x = np.random.default_rng(0).normal(size=(200, 2)) * 100
    net = make_network(
        x,
        np.array([[0.0, 5.0], [10.0, 50.0]]),
        hidden=(8,),
        activation="tanh",
        fourier_features=0,
        fourier_scale=1.0,
        lower=np.array([0.0, 5.0]),
        upper=np.array([10.0, np.inf]),
        hard_bounds=True,
        key=jax.random.PRNGKey(1),
    )
    y = np.asarray(jax.vmap(net)(jnp.asarray(x * 1000)))
    assert (y[:, 0] >= 0).all() and (y[:, 0] <= 10).all() and (y[:, 1] >= 5).all()


def test_clipped_inputs_keep_the_full_derivative_on_the_edge_of_the_box():
    # inside the training box, edges included, a clipped network is the network itself, so
    # physics terms at the rows holding an input's min or max see its whole derivative
    # (jnp.clip gave half there); outside the box the derivative is zero
    x = np.linspace(0.0, 1.0, 5)[:, None]

    def net(clip):
        return _make(x, np.sin(x), clip_inputs=clip)

    def slope(model, at):
        return float(jax.grad(lambda v: model(jnp.array([v]))[0])(at))

    clipped, free = net(True), net(False)
    for at in (0.0, 0.5, 1.0):
        assert slope(clipped, at) == pytest.approx(slope(free, at), rel=1e-6), at
        assert slope(free, at) != 0.0
    assert slope(clipped, -0.5) == 0.0 and slope(clipped, 1.5) == 0.0


def test_only_network_weights_are_trainable():
    net = _network(0.0, 1.0, 0.0, 1.0)
    spec = trainable_filter(net)
    assert spec.x_shift is False and spec.y_scale is False and spec.lower is False
    assert spec.net.layers[0].weight is True


# -- the training loop -----------------------------------------------------------------------
def _linear_problem(n=64):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(n, 2))
    y = (2 * x[:, :1] - x[:, 1:]) + 0.5
    net = _make(x, y)

    def mse(model, batch):
        return jnp.mean((jax.vmap(model)(batch["x"]) - batch["y"]) ** 2)

    return net, LossTerm("data", mse, {"x": x, "y": y}, 16), mse, x, y


def _train_validated(net, terms, settings, key, mse, x, y, **kw):
    """``train`` with the data MSE on ``(x, y)`` as the validation loss."""
    return _train(
        net, terms, settings, key, validate=lambda m: float(mse(m, {"x": x, "y": y})), **kw
    )


def test_training_reduces_the_loss_and_records_every_term():
    net, data, mse, x, y = _linear_problem()
    extra = LossTerm(
        "penalty", lambda m, b: jnp.mean(jax.vmap(m)(b["x"]) ** 2) * 0.0, {"x": x}, 8, weight=2.0
    )
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=40)
    result = _train(net, [data, extra], settings)
    h = result.history
    assert set(h) == {"epoch", "loss", "data", "penalty"} and len(h["data"]) == 40
    assert h["data"][-1] < 0.2 * h["data"][0]


def test_early_stopping_restores_the_best_weights():
    net, data, mse, x, y = _linear_problem()
    vals = iter([5.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    seen = []

    def validate(model):
        seen.append(model)
        return next(vals)

    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=50, patience=3)
    result = _train(
        net,
        [data],
        settings,
        validate=validate,
    )
    assert result.stopped_early and result.epochs_run == 5 and result.best_epoch == 2
    assert result.history["val_data"] == [5.0, 1.0, 2.0, 3.0, 4.0]
    best = seen[1]
    _assert_same_arrays(best, result.model)


def test_nan_loss_stops_with_the_term_and_epoch_and_keeps_good_weights():
    net, data, mse, x, y = _linear_problem()
    # log of a negative number: NaN in the first epoch
    blowup = LossTerm(
        "physics:blowup",
        lambda m, b: jnp.log(jnp.mean(jax.vmap(m)(b["x"]) ** 2) - 1e6),
        {"x": x},
        64,
    )
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=10)
    with pytest.raises(TrainingError, match=r"loss term 'physics:blowup' is nan.*epoch 0") as info:
        _train(net, [data, blowup], settings)
    err = info.value
    assert err.term == "physics:blowup" and err.epoch == 1 and err.result.epochs_run == 0
    _assert_same_arrays(err.result.model, net)


def test_non_finite_validation_loss_stops_training_too():
    # an infinite validation loss would never be the best one: training would go on and
    # silently return the weights of an earlier epoch (or the random start)
    net, data, mse, x, y = _linear_problem()
    vals = iter([3.0, 2.0, math.inf])
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=10)
    with pytest.raises(
        TrainingError,
        match=r"'val_data' \(the data loss on the validation rows\) is inf.*weights of epoch 2",
    ) as info:
        _train(
            net,
            [data],
            settings,
            validate=lambda model: next(vals),
        )
    err = info.value
    assert err.term == "val_data" and err.epoch == 3 and err.result.epochs_run == 2
    assert err.result.history["val_data"] == [3.0, 2.0]


def test_checkpoint_resume_repeats_an_uninterrupted_run(tmp_path):
    net, data, mse, x, y = _linear_problem()
    path = tmp_path / "ckpt.tgds"

    def settings(**kw):
        return TrainSettings(optimizer=optax.adam(1e-2), epochs=30, checkpoint_every=5, **kw)

    full = _train(
        net,
        [data],
        settings(weighting=ReLoBRaLo()),
        key=3,
    )

    class Stop(Exception):
        pass

    def stop_at_12(epoch, record):
        if epoch == 12:
            raise Stop

    with pytest.raises(Stop):
        _train(
            net,
            [data],
            settings(weighting=ReLoBRaLo(), checkpoint=path),
            key=3,
            fingerprint="f",
            callback=stop_at_12,
        )
    resumed = _train(
        net,
        [data],
        settings(weighting=ReLoBRaLo(), checkpoint=path),
        key=3,
        fingerprint="f",
        resume=True,
    )
    assert resumed.history["epoch"][0] == 1.0 and len(resumed.history["loss"]) == 30
    assert resumed.history == full.history
    _assert_same_arrays(full.model, resumed.model)
    with pytest.raises(TgdsError, match="different configuration"):
        _train(
            net,
            [data],
            settings(checkpoint=path),
            key=3,
            fingerprint="other",
            resume=True,
        )


def test_warmup_schedule_values_and_bad_settings():
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=10, warmup=2, ramp=3)
    assert [settings.schedule(e) for e in range(7)] == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert TrainSettings(optimizer=optax.adam(1e-2), epochs=3, warmup=1).schedule(1) == 1.0
    with pytest.raises(
        TgdsError, match=r"warmup \+ ramp \(6 \+ 4\) must be fewer than the 10 epochs"
    ):
        TrainSettings(optimizer=optax.adam(1e-2), epochs=10, warmup=6, ramp=4)
    with pytest.raises(TgdsError, match="non-negative"):
        TrainSettings(optimizer=optax.adam(1e-2), epochs=10, warmup=-1)


def test_warmup_trains_on_the_first_term_alone_then_ramps_the_others_in():
    net, data, mse, x, y = _linear_problem()

    def pull(weight):  # a strong term that pulls every output to 10
        return LossTerm(
            "physics:pull",
            lambda m, b: jnp.mean((jax.vmap(m)(b["x"]) - 10.0) ** 2),
            {"x": x},
            16,
            weight,
        )

    def run(term, **kw):
        settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=30, **kw)
        return _train_validated(net, [data, term], settings, 0, mse, x, y)

    scheduled = run(pull(100.0), warmup=20, ramp=4)
    alone = run(pull(0.0))  # the same batches, the term switched off
    h = scheduled.history
    assert h["schedule"] == [0.0] * 20 + [0.2, 0.4, 0.6, 0.8] + [1.0] * 6
    # during the warm-up the weights follow the data term alone, bit for bit
    assert h["data"][:20] == alone.history["data"][:20]
    assert h["val_data"][:20] == alone.history["val_data"][:20]
    assert h["data"][20] != alone.history["data"][20]
    # the warm-up epochs fit the data best, but the best weights come from epochs at full weight
    assert min(h["val_data"][:20]) < min(h["val_data"][24:])
    assert scheduled.best_epoch > 24
    assert h["val_data"][scheduled.best_epoch - 1] == min(h["val_data"][24:])


def test_resume_inside_the_warmup_repeats_an_uninterrupted_run(tmp_path):
    net, data, mse, x, y = _linear_problem()
    pull = LossTerm("physics:pull", lambda m, b: jnp.mean(jax.vmap(m)(b["x"]) ** 2), {"x": x}, 16)
    path = tmp_path / "ckpt.tgds"

    class Stop(Exception):
        pass

    def run(checkpoint=None, resume=False, callback=None):
        settings = TrainSettings(
            optimizer=optax.adam(1e-2),
            epochs=16,
            warmup=5,
            ramp=4,
            checkpoint=checkpoint,
            checkpoint_every=1,
        )
        return _train_validated(
            net,
            [data, pull],
            settings,
            1,
            mse,
            x,
            y,
            fingerprint="f",
            resume=resume,
            callback=callback,
        )

    def stop_at_7(epoch, record):  # in the middle of the ramp
        if epoch == 7:
            raise Stop

    full = run()
    with pytest.raises(Stop):
        run(checkpoint=path, callback=stop_at_7)
    epochs_run = []
    resumed = run(checkpoint=path, resume=True, callback=lambda e, r: epochs_run.append(e))
    assert epochs_run == list(range(8, 17))  # continued, not restarted
    assert resumed.history == full.history and resumed.best_epoch == full.best_epoch
    _assert_same_arrays(full.model, resumed.model)


def test_relobralo_raises_the_weight_of_the_slow_term():
    scheme = ReLoBRaLo(alpha=0.0, temperature=1.0, expected_rho=1.0)
    state = scheme.init(2)
    state = scheme.update(state, jnp.array([1.0, 1.0]), jax.random.PRNGKey(0))
    state = scheme.update(
        state, jnp.array([0.1, 1.0]), jax.random.PRNGKey(1)
    )  # term 0 fell tenfold
    lambdas = np.asarray(state["lambdas"])
    assert lambdas.sum() == pytest.approx(2.0) and lambdas[1] > lambdas[0]
    assert np.asarray(FixedWeights().init(3)["lambdas"]).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("kwargs", [{"alpha": 1.0}, {"temperature": 0.0}, {"expected_rho": 2.0}])
def test_relobralo_rejects_bad_settings(kwargs):
    with pytest.raises(TgdsError):
        ReLoBRaLo(**kwargs)


def test_train_rejects_bad_terms():
    net, data, *_ = _linear_problem()
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=1)
    with pytest.raises(TgdsError, match="unique"):
        _train(net, [data, data], settings)
    with pytest.raises(TgdsError, match="at least one"):
        _train(net, [], settings)
    assert math.isfinite(float(data.fn(net, {k: jnp.asarray(v) for k, v in data.points.items()})))


# -- found in review: failures that were silent, misattributed or late -------------------------
def _nan_gradient_term(x, batch):
    """A term whose value is zero but whose gradient is NaN: ``jnp.where`` around sqrt of a
    negative value (the branch not taken still sends 0 * NaN back)."""

    def fn(model, b):
        out = jax.vmap(model)(b["x"])[:, 0]
        return jnp.mean(jnp.where(out > -1e3, 0.0, jnp.sqrt(-1e3 - out)))

    return LossTerm("physics:trap", fn, {"x": x}, batch)


@pytest.mark.parametrize(("batch", "epochs"), [(64, 1), (64, 3), (16, 3)])
def test_a_non_finite_gradient_stops_training_naming_its_term(batch, epochs):
    # with one step per epoch, the NaN weights of the last step passed the check of finite
    # losses: a single epoch returned them without an error, and later epochs kept them as
    # "the last good weights" and blamed the data term; with several steps per epoch the
    # data term was blamed too
    net, data, mse, x, y = _linear_problem()
    data = LossTerm("data", data.fn, data.points, batch)
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=epochs)
    with pytest.raises(
        TrainingError,
        match=r"epoch 1: the gradient of the loss term 'physics:trap' is not finite in step 1 .*"
        r"every loss term is finite there.*weights of epoch 0",
    ) as info:
        _train(
            net,
            [data, _nan_gradient_term(x, 64)],
            settings,
        )
    err = info.value
    assert err.term == "physics:trap" and err.epoch == 1 and err.result.epochs_run == 0
    _assert_same_arrays(err.result.model, net)


def test_a_non_finite_gradient_in_a_later_step_is_traced_to_its_term():
    # one flagged row makes the gradient NaN in the one step whose batch holds it: the epoch
    # is replayed up to that step to find the term
    net, data, mse, x, y = _linear_problem()
    flag = np.zeros(len(x))
    flag[37] = 2.0

    def fn(model, b):
        out = jax.vmap(model)(b["x"])[:, 0]
        return mse(model, b) + jnp.mean(
            jnp.where(b["flag"] > 0, 0.0, jnp.sqrt(1.0 - b["flag"] + 0.0 * out))
        )

    term = LossTerm("data", fn, {"x": x, "y": y, "flag": flag}, 4)
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=3)
    with pytest.raises(TrainingError) as info:
        _train(net, [term], settings, key=2)
    step = int(re.search(r"in step (\d+) of the epoch", str(info.value)).group(1))
    assert 1 < step <= 16 and info.value.term == "data"
    assert "the gradient of the loss term 'data' is not finite" in str(info.value)


def test_weights_that_become_non_finite_with_finite_gradients_are_caught():
    net, data, *_ = _linear_problem()
    settings = TrainSettings(optimizer=optax.sgd(math.inf), epochs=1, clip_norm=None)
    with pytest.raises(TrainingError, match="weights became NaN or infinite") as info:
        _train(net, [data], settings)
    assert info.value.term == "weights" and info.value.result.epochs_run == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clip_norm": -1.0}, "clip_norm must be positive"),  # flipped gradients: ascent
        ({"clip_norm": 0.0}, "clip_norm must be positive, or None"),
        ({"clip_norm": math.nan}, "clip_norm must be positive"),
        ({"patience": 0}, "patience must be a positive"),  # stopped after the first epoch
        ({"checkpoint_every": 0}, "checkpoint_every must be a positive"),  # ZeroDivisionError
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"warmup": 1.5}, r"warmup and ramp must be non-negative integers \(epochs\)"),
    ],
)
def test_train_settings_reject_values_that_would_misbehave(kwargs, message):
    with pytest.raises(TgdsError, match=message):
        TrainSettings(**{"optimizer": optax.adam(1e-2), "epochs": 5, **kwargs})


def test_train_rejects_terms_that_would_train_wrongly():
    net, data, mse, x, y = _linear_problem()
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=1)

    def run(*terms, settings=settings):
        return _train(net, list(terms), settings)

    # JAX clamps indices past the end: y's last row was paired with 24 rows of x
    with pytest.raises(TgdsError, match=r"same number of rows.*'x': 64, 'y': 40"):
        run(LossTerm("data", mse, {"x": x, "y": y[:40]}, 16))
    with pytest.raises(TgdsError, match="positive integer batch_size; got 0"):
        run(LossTerm("data", mse, data.points, 0))  # was a ZeroDivisionError
    with pytest.raises(TgdsError, match="finite, non-negative weight; got nan"):
        run(data, LossTerm("w", mse, data.points, 16, weight=math.nan))  # was blamed on 'data'
    # a mean over the batch of shape (1,) broadcast the weights of the terms against each
    # other, then failed with numpy's TypeError after the epoch
    per_output = lambda m, b: jnp.mean((jax.vmap(m)(b["x"]) - b["y"]) ** 2, axis=0)  # noqa: E731
    with pytest.raises(TgdsError, match=r"'data' must return a scalar.*shape \(1,\)"):
        run(LossTerm("data", per_output, data.points, 16))
    # the history's own records would overwrite the term's (or the term theirs)
    const = lambda m, b: jnp.mean(b["x"])  # noqa: E731
    for name in ("loss", "epoch", "val_data", "lambda/data"):
        with pytest.raises(TgdsError, match=rf"names \['{name}'\] are taken by the history"):
            run(data, LossTerm(name, const, {"x": x}, 8))
    with_penalty = TrainSettings(optimizer=optax.adam(1e-2), epochs=1, penalty=l2_penalty(1.0))
    with pytest.raises(TgdsError, match="taken by the history"):
        run(data, LossTerm("penalty", const, {"x": x}, 8), settings=with_penalty)


def test_an_unwritable_checkpoint_path_fails_before_training(tmp_path):
    # the first checkpoint is written after checkpoint_every epochs: the error came then,
    # throwing the epochs away, and named a temporary file
    net, data, *_ = _linear_problem()
    (tmp_path / "file").write_text("not a folder")
    for path, message in [
        (tmp_path, "is a directory, not a file"),
        (tmp_path / "file" / "c.tgds", "is a file, not a folder"),
    ]:
        epochs = []
        settings = TrainSettings(
            optimizer=optax.adam(1e-2), epochs=5, checkpoint=path, checkpoint_every=2
        )
        with pytest.raises(DataError, match=message) as info:
            _train(
                net,
                [data],
                settings,
                resume=True,
                callback=lambda e, r, epochs=epochs: epochs.append(e),
            )
        assert str(path) in str(info.value) and epochs == []
    # a folder that does not exist yet is created
    path = tmp_path / "new" / "deeper" / "c.tgds"
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=2, checkpoint=path)
    _train(net, [data], settings)
    assert path.is_file()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": (0,)}, "positive integer widths"),  # a network that always returned 0
        ({"hidden": (8, -2)}, "positive integer widths"),  # an MLIR error
        ({"fourier_features": -3}, "non-negative integer"),  # silently no features
        ({"fourier_features": 4, "fourier_scale": math.nan}, "positive and finite"),  # NaN output
        ({"fourier_features": 4, "fourier_scale": 0.0}, "positive and finite"),
    ],
)
def test_mlp_rejects_a_bad_structure(kwargs, message):
    options = {"hidden": (8,), "activation": "tanh", "fourier_features": 0, "fourier_scale": 1.0}
    with pytest.raises(TgdsError, match=message):
        MLP(2, 1, key=jax.random.PRNGKey(0), **{**options, **kwargs})


def test_a_corrupt_checkpoint_is_refused_naming_the_file(tmp_path):
    net, data, *_ = _linear_problem()
    path = tmp_path / "ckpt.tgds"
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=2, checkpoint=path)

    def resume():
        return _train(
            net,
            [data],
            settings,
            resume=True,
        )

    resume()
    raw = path.read_bytes()
    path.write_bytes(raw[:-100])  # truncated weights
    with pytest.raises(DataError, match=f"file '{re.escape(str(path))}' does not match"):
        resume()
    path.write_bytes(raw)
    meta, tree = read_container(path, "checkpoint-1", lambda m: _checkpoint_like(net, settings))
    del meta["history"]  # was a KeyError
    write_container(path, "checkpoint-1", meta, tree)
    with pytest.raises(
        DataError, match=rf"checkpoint '{re.escape(str(path))}' has corrupt metadata"
    ):
        resume()


def _checkpoint_like(net, settings):
    params = eqx.filter(net, trainable_filter(net))
    optimizer = optax.chain(optax.clip_by_global_norm(settings.clip_norm), settings.optimizer)
    return (params, optimizer.init(params), settings.weighting.init(1), params)


def test_training_error_survives_pickling():
    # joblib (GridSearchCV with n_jobs) pickles a worker's exception: unpickling called
    # __init__ with the message alone, a TypeError that hid the training error
    net, data, mse, x, y = _linear_problem()
    settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=2)
    with pytest.raises(TrainingError) as info:
        _train(
            net,
            [data, _nan_gradient_term(x, 64)],
            settings,
        )
    back = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own object
    assert type(back) is TrainingError and str(back) == str(info.value)
    assert (back.term, back.epoch, back.result.epochs_run) == ("physics:trap", 1, 0)
