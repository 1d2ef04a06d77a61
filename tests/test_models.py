"""Theory-guided neural estimators: binding to theories, physics, persistence, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import optax
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import tgds
from tgds._validation import InvalidParameterError
from tgds.exceptions import DataError, TgdsError, TheoryError
from tgds.models import PhysicsModelRegressor, TheoryGuidedClassifier, TheoryGuidedRegressor
from tgds.nn import ReLoBRaLo, TrainingError
from tgds.plot import learning_curves
from tgds.refine import ConsistentRegressor, IsotonicProjection, ProjectToBounds
from tgds.theory import (
    Bounds,
    Equation,
    Monotonic,
    Parameter,
    PhysicsModel,
    Relation,
    Theory,
    Variable,
)


@pytest.fixture(scope="module")
def ramp():
    """y = x1 + 0.5 x2 on a grid, with bounds on y and a monotonic constraint."""
    theory = Theory(
        variables=[
            Variable("x1", "m", bounds=(0, 1)),
            Variable("x2", "m", bounds=(0, 1)),
            Variable("site", role="group"),
            Variable("y", "K", bounds=(0, 2), role="target"),
        ],
        constraints=[Monotonic("y", wrt="x1", name="rising"), Bounds("y", name="range")],
    )
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"x1": rng.uniform(0, 1, 80), "x2": rng.uniform(0, 1, 80), "site": rng.integers(0, 4, 80)}
    )
    df["y"] = df["x1"] + 0.5 * df["x2"]
    return theory, df


def _fast(**kw):
    defaults = dict(hidden=(16,), epochs=40, learning_rate=1e-2, random_state=0)
    return TheoryGuidedRegressor(**{**defaults, **kw})


def test_columns_bind_to_theory_variables(ramp):
    theory, df = ramp
    model = _fast(theory=theory).fit(df)  # targets taken from the frame
    assert model.features_ == ("x1", "x2") and model.targets_ == ("y",)
    assert model.loss_terms_ == ("data", "monotonic:rising", "bounds:range")
    shuffled = df[["y", "site", "x2", "x1"]]  # column order does not matter
    np.testing.assert_allclose(model.predict(shuffled), model.predict(df))
    assert model.predict(df).shape == (80,)
    rmse = float(np.sqrt(np.mean((model.predict(df) - df["y"]) ** 2)))
    assert rmse < 0.15


def test_missing_and_unknown_columns_are_named(ramp):
    theory, df = ramp
    with pytest.raises(DataError, match=r"lacks the input column\(s\) \['x2'\]"):
        _fast(theory=theory).fit(df.drop(columns="x2"))
    with pytest.raises(DataError, match="not a variable of the theory"):
        _fast(theory=theory, inputs=["x1", "depth"]).fit(df)
    with pytest.raises(DataError, match="not a target variable"):
        _fast(theory=theory, targets="x1").fit(df)
    model = _fast(theory=theory, inputs=["x1"], physics=None).fit(df)
    assert model.features_ == ("x1",) and model.loss_terms_ == ("data",)
    with pytest.raises(DataError, match="NaN"):
        _fast(theory=theory).fit(df.assign(x1=np.where(df.index == 3, np.nan, df["x1"])))


def test_physics_selection_and_weights_by_name(ramp):
    theory, df = ramp
    model = _fast(theory=theory, physics=["rising"], physics_weight={"rising": 5.0}).fit(df)
    assert model.loss_terms_ == ("data", "monotonic:rising")
    with pytest.raises(TheoryError, match="unknown constraint"):
        _fast(theory=theory, physics=["falling"]).fit(df)
    with pytest.raises(TheoryError, match="physics_weight names unknown"):
        _fast(theory=theory, physics_weight={"falling": 1.0}).fit(df)
    for weight in (-1.0, float("inf"), "5"):
        with pytest.raises(InvalidParameterError, match="finite weight >= 0"):
            _fast(theory=theory, physics_weight={"rising": weight}).fit(df)


@pytest.mark.parametrize(
    ("param", "value", "words"),
    [
        ("epochs", 0, "an int >= 1"),
        ("activation", "swish", "one of"),
        ("hidden", (), "a non-empty tuple"),
        ("learning_rate", float("inf"), "a finite float > 0"),
        ("alpha", float("inf"), "a finite float >= 0"),
    ],
)
def test_parameters_are_validated_in_fit(param, value, words):
    model = TheoryGuidedRegressor(**{param: value})  # __init__ stores only
    with pytest.raises(
        ValueError, match=f"The '{param}' parameter of TheoryGuidedRegressor must be {words}"
    ):
        model.fit(np.ones((5, 1)), np.ones(5))


def test_multi_output_and_hard_bounds():
    theory = Theory(
        variables=[
            Variable("x", "m"),
            Variable("a", "1", bounds=(0, 1), role="target"),
            Variable("b", "1", bounds=(-1, 1), role="target"),
        ]
    )
    x = np.linspace(-3, 3, 60)
    df = pd.DataFrame({"x": x, "a": 1 / (1 + np.exp(-x)), "b": np.tanh(x)})
    model = _fast(theory=theory, hard_bounds=True, epochs=60).fit(df)
    far = pd.DataFrame({"x": np.linspace(-300, 300, 101)})
    pred = model.predict(far)
    assert pred.shape == (101, 2)
    assert (pred[:, 0] >= 0).all() and (pred[:, 0] <= 1).all() and (np.abs(pred[:, 1]) <= 1).all()
    free = _fast(theory=theory, epochs=60).fit(df).predict(far)
    assert (free[:, 0] > 1).any() or (
        free[:, 0] < 0
    ).any()  # the transform is what keeps them inside


def test_unlabeled_points_enforce_a_relation_of_the_output():
    # density must not decrease with depth; above 4 degC that means T must not rise with depth.
    # The (noisy) labels show a warm layer below, at shallow depths only.
    theory = Theory(
        variables=[
            Variable("date", role="group"),
            Variable("depth", "m"),
            Variable("T", "degC", role="target"),
        ],
        relations=[
            Relation(
                "rho",
                "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))",
                unit="kg/m^3",
                empirical=True,
            )
        ],
        constraints=[Monotonic("rho", wrt="depth", within="date", name="stable")],
    )
    rng = np.random.default_rng(1)
    dates = np.repeat(np.arange(20), 6)
    depth = np.tile(np.linspace(0, 5, 6), 20)
    labeled = pd.DataFrame(
        {"date": dates, "depth": depth, "T": 10 + 0.5 * depth + rng.normal(0, 0.3, 120)}
    )
    deep = pd.DataFrame(
        {"date": np.repeat(np.arange(20), 10), "depth": np.tile(np.linspace(0, 20, 10), 20)}
    )
    kw = dict(
        theory=theory,
        hidden=(16, 16),
        epochs=150,
        learning_rate=1e-2,
        random_state=0,
        validation_fraction=0.0,
    )
    plain = TheoryGuidedRegressor(physics=None, **kw).fit(labeled)
    guided = TheoryGuidedRegressor(physics_weight=20.0, **kw).fit(labeled, X_unlabeled=deep)

    def inversions(model):
        rho = theory.expression_of("rho").evaluate({"T": model.predict(deep)}).reshape(20, 10)
        return float(np.mean(np.diff(rho, axis=1) < 0))

    assert inversions(plain) > 0.5  # following the labels (and extrapolating them) inverts density
    assert inversions(guided) < 0.05
    # without the group column anywhere the derivative's sign is constrained instead, which
    # orders the same profiles; dropping it from one frame only is a mistake and says so
    by_sign = TheoryGuidedRegressor(physics_weight=20.0, **kw).fit(
        labeled.drop(columns="date"), X_unlabeled=deep.drop(columns="date")
    )
    assert inversions(by_sign) < 0.05
    with pytest.raises(DataError, match="X_unlabeled lacks the column 'date'"):
        TheoryGuidedRegressor(**kw).fit(labeled, X_unlabeled=deep.drop(columns="date"))
    # 0 and "0" are different groups: the labeled and unlabeled rows of a date would never
    # be compared, so values of different kinds are refused
    with pytest.raises(DataError) as err:
        TheoryGuidedRegressor(**kw).fit(labeled, X_unlabeled=deep.astype({"date": str}))
    for part in ("'date'", "numbers in X", "text in X_unlabeled", "Convert"):
        assert part in str(err.value)
    as_dates = {"date": pd.to_datetime("2020-01-01") + pd.to_timedelta(labeled["date"], "D")}
    with pytest.raises(DataError, match="dates in X, text in X_unlabeled"):
        TheoryGuidedRegressor(**kw).fit(
            labeled.assign(**as_dates), X_unlabeled=deep.assign(date=deep["date"].astype(str))
        )
    # integers and floats of one value are one group
    TheoryGuidedRegressor(**(kw | {"epochs": 1})).fit(
        labeled, X_unlabeled=deep.astype({"date": float})
    )


def test_nan_loss_raises_and_keeps_the_last_good_weights():
    theory = Theory(
        variables=[Variable("x", "1"), Variable("y", "1", role="target")],
        relations=[Relation("logy", "log(y)")],
        constraints=[Bounds("logy", upper=10.0, name="log_bound")],
    )
    df = pd.DataFrame(
        {"x": np.linspace(0, 1, 20), "y": -5.0 - np.linspace(0, 1, 20)}
    )  # log of negatives
    model = _fast(theory=theory)
    with pytest.raises(
        TrainingError, match=r"epoch 1: the loss term 'bounds:log_bound' is nan"
    ) as info:
        model.fit(df)
    assert info.value.term == "bounds:log_bound"
    assert np.isfinite(model.predict(df)).all()  # the estimator holds the last good weights
    assert model.n_epochs_ == 0


def test_save_and_load_give_identical_predictions(tmp_path, ramp):
    theory, df = ramp
    model = _fast(theory=theory, hard_bounds=True).fit(df, X_unlabeled=df.drop(columns="y"))
    path = tgds.save(model, tmp_path / "model.tgds")
    loaded = tgds.load(path)
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    assert loaded.theory == theory and loaded.history_ == model.history_
    assert loaded.get_params()["hidden"] == (16,) and loaded.loss_terms_ == model.loss_terms_

    X = np.random.default_rng(0).normal(size=(60, 2))
    clf = TheoryGuidedClassifier(hidden=(8,), epochs=30, random_state=0).fit(
        X, np.where(X[:, 0] > 0, "hot", "cold")
    )
    clf2 = tgds.load(tgds.save(clf, tmp_path / "clf.tgds"))
    np.testing.assert_array_equal(clf2.predict_proba(X), clf.predict_proba(X))
    assert list(clf2.classes_) == ["cold", "hot"]


def test_save_and_load_give_the_parameters_back_as_they_were(tmp_path, ramp):
    theory, df = ramp
    model = _fast(
        theory=theory,
        inputs=("x1", "x2"),  # a tuple, not a list
        hidden=[8],  # a list, not a tuple
        physics=["rising"],
        batch_size=np.int64(16),  # as GridSearchCV over np.arange gives it
        checkpoint_path=tmp_path / "ck.tgds",  # a Path
        epochs=5,
    ).fit(df)
    loaded = tgds.load(tgds.save(model, tmp_path / "m.tgds"))
    params, back = model.get_params(), loaded.get_params()
    for key in ("inputs", "hidden", "physics"):
        assert back[key] == params[key] and type(back[key]) is type(params[key]), key
    assert back["batch_size"] == 16
    assert back["checkpoint_path"] is None  # a path to write to is never taken from a file
    # an object-dtype label array comes back as one: predict returns the same dtype
    X = np.random.default_rng(0).normal(size=(40, 2))
    labels = np.where(X[:, 0] > 0, "hot", "cold").astype(object)
    clf = TheoryGuidedClassifier(hidden=(4,), epochs=3, random_state=0).fit(X, labels)
    clf2 = tgds.load(tgds.save(clf, tmp_path / "clf.tgds"))
    assert clf2.predict(X).dtype == clf.predict(X).dtype == object
    # what cannot be stored is said at save time
    custom = _fast(theory=theory, epochs=2, optimizer=optax.sgd(1e-2)).fit(df)
    with pytest.warns(UserWarning, match="does not store a custom optimizer"):
        assert tgds.load(tgds.save(custom, tmp_path / "o.tgds")).optimizer is None


def test_fade_with_hard_bounds_on_a_bounded_target_is_refused():
    theory, df = _hybrid_data()
    bounded = Theory(
        variables=[*theory.variables[:2], Variable("y", "K", bounds=(-5, 20), role="target")]
    )
    model = _fast(theory=bounded, residual_of="sim", out_of_range="fade", hard_bounds=True)
    with pytest.raises(InvalidParameterError, match="not the identity"):
        model.fit(df)
    # without bounds on the target the transform is the identity: nothing to refuse
    _fast(theory=theory, residual_of="sim", out_of_range="fade", hard_bounds=True, epochs=2).fit(df)


def test_load_rejects_bad_files(tmp_path, ramp, forge_meta):
    theory, df = ramp
    path = tgds.save(_fast(theory=theory, epochs=2).fit(df), tmp_path / "m.tgds")
    data = path.read_bytes()
    (tmp_path / "trunc.tgds").write_bytes(data[:-200])  # arrays cut short
    with pytest.raises(DataError, match="does not match the structure"):
        tgds.load(tmp_path / "trunc.tgds")
    (tmp_path / "long.tgds").write_bytes(data + b"appended")
    with pytest.raises(DataError, match="holds 8 bytes after the arrays"):
        tgds.load(tmp_path / "long.tgds")
    (tmp_path / "short.tgds").write_bytes(data[:100])  # metadata cut short
    with pytest.raises(DataError, match="truncated"):
        tgds.load(tmp_path / "short.tgds")
    (tmp_path / "pickle.tgds").write_bytes(b"\x80\x04\x95" + data[10:])
    with pytest.raises(DataError, match="not a tgds model-1 file"):
        tgds.load(tmp_path / "pickle.tgds")
    name = b'"class": "TheoryGuidedRegressor"'
    forged = data.replace(name, b'"class": "os.system"'.ljust(len(name)))  # same length: valid file
    (tmp_path / "forged.tgds").write_bytes(forged)
    with pytest.raises(DataError, match="unknown class 'os.system'"):
        tgds.load(tmp_path / "forged.tgds")
    forged = forge_meta(data, lambda meta: meta["params"].update(hidden=[30000, 30000]))
    (tmp_path / "big.tgds").write_bytes(forged)
    with pytest.raises(DataError, match="network of 900.* weights but holds"):
        tgds.load(tmp_path / "big.tgds")  # refused before anything is allocated
    # the Fourier matrix is n_in x fourier: 6000 x 6000 floats (144 MB) from a 2 MB file
    # whose other layers (18000 x 16) the padding covers
    forged = forge_meta(data, lambda meta: meta["shapes"].update(n_in=6000, fourier=6000))
    forged += bytes(2_000_000)
    (tmp_path / "fourier.tgds").write_bytes(forged)
    with pytest.raises(DataError, match="network of .* weights but holds"):
        tgds.load(tmp_path / "fourier.tgds")
    for key, value, expected in [
        ("history_", "abc", "a table of lists of numbers"),
        ("n_epochs_", "abc", "an integer >= 0"),
        ("stopped_early_", "no", "true or false"),
        ("features_", [1, 2], "a list of column names"),
    ]:
        (tmp_path / "typed.tgds").write_bytes(
            forge_meta(data, lambda meta, k=key, v=value: meta["fitted"].update({k: v}))
        )
        with pytest.raises(DataError, match=f"corrupt {key}: expected {expected}"):
            tgds.load(tmp_path / "typed.tgds")
    (tmp_path / "path.tgds").write_bytes(
        forge_meta(data, lambda meta: meta["params"].update(checkpoint_path="/tmp/x.tgds"))
    )
    assert tgds.load(tmp_path / "path.tgds").checkpoint_path is None
    (tmp_path / "attr.tgds").write_bytes(
        forge_meta(data, lambda meta: meta["fitted"].update(predict="x"))
    )
    with pytest.raises(DataError, match="unknown fitted attribute 'predict'"):
        tgds.load(tmp_path / "attr.tgds")
    (tmp_path / "param.tgds").write_bytes(forge_meta(data, lambda meta: meta["params"].update(x=1)))
    with pytest.raises(DataError, match=r"unknown parameters \['x'\]"):
        tgds.load(tmp_path / "param.tgds")
    kind = b'"hidden": "tuple"'
    assert kind in data
    (tmp_path / "kind.tgds").write_bytes(data.replace(kind, b'"hidden": "set!!"'))
    with pytest.raises(DataError, match="'hidden' is stored as a 'set!!'; expected one of tuple"):
        tgds.load(tmp_path / "kind.tgds")
    with pytest.raises(DataError, match="does not exist"):
        tgds.load(tmp_path / "nothing.tgds")
    with pytest.raises(DataError, match="fitted tgds estimator"):
        tgds.save(object(), tmp_path / "x.tgds")


@pytest.mark.filterwarnings("ignore:IsotonicProjection. skipped")  # 'rising' has no groups
def test_save_load_physics_model_and_consistent_regressor(tmp_path, ramp):
    theory, df = ramp
    theory = Theory(
        variables=[*theory.variables, Variable("sim", "K")],
        constraints=theory.constraints,
        physics_model=PhysicsModel(outputs={"y": "0.9 * sim"}),
    )
    df = df.assign(sim=df["x1"] + 0.4 * df["x2"])
    net = _fast(theory=theory, inputs=["x1", "x2"], epochs=5).fit(df)
    models = {
        "physics": PhysicsModelRegressor(theory=theory).fit(df),
        "prefit": ConsistentRegressor(
            net, theory, repairs=[ProjectToBounds(target="y"), IsotonicProjection()], prefit=True
        ).fit(),
        "fitted": ConsistentRegressor(_fast(theory=theory, epochs=5), theory, reject=True).fit(df),
        "physics+repair": ConsistentRegressor(PhysicsModelRegressor(theory=theory), theory).fit(df),
        "tuple": ConsistentRegressor(
            net, theory, repairs=(IsotonicProjection(),), targets=("y",), prefit=True
        ).fit(),  # the containers come back as they were given: equal parameters
    }
    for name, model in models.items():
        loaded = tgds.load(tgds.save(model, tmp_path / f"{name}.tgds"))
        assert type(loaded) is type(model), name
        np.testing.assert_array_equal(loaded.predict(df), model.predict(df), err_msg=name)
        params = [m.get_params(deep=False) for m in (loaded, model)]
        for p in params:
            p.pop("estimator", None)  # an equal estimator, not the same object
        assert params[0] == params[1], name
    assert tgds.load(tmp_path / "prefit.tgds").repairs == [
        ProjectToBounds("y"),
        IsotonicProjection(),
    ]
    assert tgds.load(tmp_path / "fitted.tgds").prefit is False

    foreign = ConsistentRegressor(LinearRegression(), theory).fit(df[["x1", "x2"]], df["y"])
    with pytest.raises(DataError, match="skops"):
        tgds.save(foreign, tmp_path / "foreign.tgds")
    data = (tmp_path / "prefit.tgds").read_bytes()
    name = b'"kind": "IsotonicProjection"'
    (tmp_path / "forged.tgds").write_bytes(
        data.replace(name, b'"kind": "Subprocess"'.ljust(len(name)))
    )
    with pytest.raises(DataError, match="unknown repair 'Subprocess'"):
        tgds.load(tmp_path / "forged.tgds")
    field = b'"target": "y"'
    (tmp_path / "field.tgds").write_bytes(data.replace(field, b'"argv": ["x"]'.ljust(len(field))))
    with pytest.raises(DataError, match=r"repair ProjectToBounds has the fields \['target'\]"):
        tgds.load(tmp_path / "field.tgds")
    balanced = tgds.save(
        _fast(theory=theory, epochs=2, weighting=ReLoBRaLo()).fit(df), tmp_path / "w"
    )
    forged = balanced.read_bytes().replace(b'"alpha": 0.999', b'"evil_": 0.999')
    (tmp_path / "w2").write_bytes(forged)
    with pytest.raises(DataError, match=r"weighting ReLoBRaLo has the fields \['alpha', "):
        tgds.load(tmp_path / "w2")


_RESUME_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from tgds.models import TheoryGuidedRegressor

    x = np.linspace(-1, 1, 200).reshape(-1, 1)
    model = TheoryGuidedRegressor(hidden=(32, 32), epochs=int(sys.argv[2]), batch_size=8, random_state=7,
                                  checkpoint_path=sys.argv[1] if sys.argv[1] != "-" else None, checkpoint_every=5)
    model.fit(x, np.sin(3 * x[:, 0]), resume=sys.argv[1] != "-")
    np.save(sys.argv[3], model.predict(x))
    """
)


@pytest.mark.skipif(os.name != "posix", reason="uses SIGKILL")
def test_kill_then_resume_gives_the_same_final_weights(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(_RESUME_SCRIPT)
    ckpt, epochs = tmp_path / "ckpt.tgds", 400
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ckpt), str(epochs), str(tmp_path / "a.npy")]
    )
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done = tgds.utils.read_container_meta(ckpt, "checkpoint-1")["epoch"]
    assert 0 < done < epochs  # it was interrupted mid-training
    subprocess.run(
        [sys.executable, str(script), str(ckpt), str(epochs), str(tmp_path / "resumed.npy")],
        check=True,
    )
    subprocess.run(
        [sys.executable, str(script), "-", str(epochs), str(tmp_path / "full.npy")], check=True
    )
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "full.npy"))


def test_resume_accepts_an_equal_custom_optimizer_and_refuses_a_changed_setup(tmp_path, ramp):
    theory, df = ramp
    ckpt = tmp_path / "ckpt.tgds"

    def model(optimizer, theory=theory):
        # a new optimizer object each time, as after a restart (its repr holds addresses)
        return _fast(theory=theory, epochs=10, optimizer=optimizer, checkpoint_path=ckpt)

    schedule = lambda: optax.adam(optax.cosine_decay_schedule(1e-2, 50))  # noqa: E731
    first = model(schedule()).fit(df)
    again = model(schedule()).fit(df, resume=True)
    np.testing.assert_array_equal(again.predict(df), first.predict(df))
    with pytest.raises(TgdsError, match="different configuration"):
        model(optax.sgd(1e-2)).fit(df, resume=True)  # another optimizer state
    flipped = Theory(
        variables=theory.variables,
        constraints=[Monotonic("y", wrt="x1", direction="decreasing", name="rising"), Bounds("y")],
    )
    with pytest.raises(TgdsError, match="different configuration"):
        model(schedule(), theory=flipped).fit(df, resume=True)  # another loss


def test_resume_matches_equal_parameters_and_refuses_another_estimator(tmp_path, ramp):
    theory, df = ramp
    ckpt = tmp_path / "ckpt.tgds"
    first = _fast(theory=theory, epochs=10, hidden=(8,), checkpoint_path=ckpt).fit(df)
    # equal parameters written another way: a list for a tuple, an int for a float
    again = _fast(theory=theory, epochs=10, hidden=[8], physics_weight=1, checkpoint_path=ckpt).fit(
        df, resume=True
    )
    np.testing.assert_array_equal(again.predict(df), first.predict(df))
    assert again.history_ == first.history_  # nothing trained again
    # a model loaded from a file resumes its own checkpoint, once told where it is
    loaded = tgds.load(tgds.save(first, tmp_path / "m.tgds")).set_params(checkpoint_path=ckpt)
    np.testing.assert_array_equal(loaded.fit(df, resume=True).predict(df), first.predict(df))
    assert loaded.history_ == first.history_  # nothing trained again
    labels = df.assign(y=(df["y"] > 0.8).astype(int))
    with pytest.raises(TgdsError, match="different configuration"):
        TheoryGuidedClassifier(
            hidden=(8,), epochs=10, learning_rate=1e-2, random_state=0, checkpoint_path=ckpt
        ).fit(labels[["x1", "x2"]], labels["y"], resume=True)


def test_resume_without_a_random_state_repeats_the_interrupted_fit(tmp_path, ramp):
    # random_state=None draws a seed per fit; the checkpoint keeps it for the resume
    theory, df = ramp
    ckpt = tmp_path / "ckpt.tgds"

    class Stop(Exception):
        pass

    def model(**kw):
        return _fast(theory=theory, epochs=20, random_state=None, checkpoint_every=5, **kw)

    full = model(checkpoint_path=tmp_path / "full.tgds").fit(df)
    seed = tgds.nn.checkpoint_info(tmp_path / "full.tgds")["base_seed"]
    with pytest.MonkeyPatch.context() as mp:
        # the interrupted fit draws the same seed as the full one, then stops at epoch 10
        mp.setattr(np.random, "randint", lambda *a, **k: seed)
        import tgds.nn._train as loop

        real = loop._save_checkpoint

        def stop_after_10(path, state, *args):
            real(path, state, *args)
            if state.epoch == 10:
                raise Stop

        mp.setattr(loop, "_save_checkpoint", stop_after_10)
        with pytest.raises(Stop):
            model(checkpoint_path=ckpt).fit(df)
    resumed = model(checkpoint_path=ckpt).fit(df, resume=True)  # a fresh draw would differ
    np.testing.assert_array_equal(resumed.predict(df), full.predict(df))


def test_resuming_an_early_stopped_fit_trains_no_further_epoch(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.5 * rng.normal(size=200)
    kw = dict(epochs=200, patience=2, learning_rate=0.05, checkpoint_path=tmp_path / "c.tgds")
    first = _fast(**kw).fit(X, y)
    assert first.stopped_early_ and first.n_epochs_ < 200
    again = _fast(**kw).fit(X, y, resume=True)
    assert again.stopped_early_ and again.n_epochs_ == first.n_epochs_
    np.testing.assert_array_equal(again.predict(X), first.predict(X))


def test_classifier_learns_and_respects_a_monotonic_probability():
    # P(y=1) rises with x, but the labels have a dip in the middle; the theory forbids it
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 400)
    p = 1 / (1 + np.exp(-12 * (x - 0.5)))
    p = np.where((x > 0.55) & (x < 0.75), 0.05, p)
    df = pd.DataFrame(
        {"x": x, "z": rng.normal(size=400), "label": (rng.uniform(size=400) < p).astype(int)}
    )
    theory = Theory(
        variables=[Variable("x", "1"), Variable("z", "1"), Variable("label", role="target")],
        constraints=[Monotonic("label", wrt="x", name="risk_rises")],
    )
    kw = dict(
        theory=theory,
        hidden=(32, 32),
        epochs=300,
        learning_rate=1e-2,
        random_state=0,
        validation_fraction=0.0,
    )
    grid = pd.DataFrame({"x": np.linspace(0, 1, 201), "z": 0.0})
    plain = TheoryGuidedClassifier(physics=None, **kw).fit(df)
    guided = TheoryGuidedClassifier(physics_weight=10.0, **kw).fit(df)
    drops_plain = np.diff(plain.predict_proba(grid)[:, 1])
    drops_guided = np.diff(guided.predict_proba(grid)[:, 1])
    assert drops_plain.min() < -0.01  # the unconstrained model follows the dip
    assert drops_guided.min() > -1e-3  # the constrained probability does not fall
    outside = (x < 0.5) | (x > 0.8)
    assert guided.score(df[outside], df["label"][outside]) > 0.8
    assert guided.loss_terms_ == ("data", "monotonic:risk_rises")


def test_classifier_physics_needs_a_binary_target():
    theory = Theory(
        variables=[Variable("x", "1"), Variable("label", role="target")],
        constraints=[Monotonic("label", wrt="x")],
    )
    df = pd.DataFrame({"x": np.linspace(0, 1, 30), "label": np.arange(30) % 3})
    with pytest.raises(TheoryError, match="binary"):
        TheoryGuidedClassifier(theory=theory, epochs=2).fit(df)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["a", None] * 10, "10 missing label.*first at row 1"),
        (["a", np.nan] * 10, "NaN"),
        (["a", 1] * 10, "mixes labels of the types int, str"),
    ],
)
def test_classifier_names_missing_and_mixed_labels(labels, message):
    X = np.linspace(0, 1, 20).reshape(-1, 1)
    with pytest.raises(DataError, match=message):
        TheoryGuidedClassifier(hidden=(4,), epochs=2).fit(X, np.array(labels, dtype=object))


def test_learning_curves_draw_every_term(ramp):
    theory, df = ramp
    model = _fast(theory=theory).fit(df)
    fig = learning_curves(model)
    labels = {line.get_label() for line in fig.axes[0].get_lines()}
    assert {
        "data",
        "monotonic:rising",
        "bounds:range",
        "validation data",
        "total (weighted)",
    } <= labels
    with pytest.raises(DataError, match="history_"):
        learning_curves(object())
    warm = _fast(theory=theory, physics_warmup=10, physics_ramp=5).fit(df)
    ax = learning_curves(warm).axes[0]
    assert "schedule" not in {line.get_label() for line in ax.get_lines()}
    assert [p.get_label() for p in ax.patches] == ["physics warm-up"]


def test_equation_on_sampled_points_recovers_the_analytic_solution():
    # u' = -k u with u(0) = 2: two labels near t = 0, the equation on points sampled
    # over [0, 3] does the rest; the solution there is 2 exp(-k t)
    theory = Theory(
        [Variable("t", "s", bounds=(0, 3), role="time"), Variable("u", "m", role="target")],
        parameters=[Parameter("k", "1/s", value=1.5)],
        constraints=[Equation("D(u, t) + k*u == 0", name="decay")],
    )
    labeled = pd.DataFrame({"t": [0.0, 0.05]}).assign(u=lambda d: 2 * np.exp(-1.5 * d["t"]))
    model = TheoryGuidedRegressor(
        theory=theory,
        hidden=(32, 32),
        epochs=3000,
        learning_rate=3e-3,
        batch_size=2,
        physics_batch_size=200,
        validation_fraction=0.0,
        random_state=0,
    ).fit(labeled, X_unlabeled=theory.sample(200, seed=0))
    grid = pd.DataFrame({"t": np.linspace(0, 3, 301)})
    exact = 2 * np.exp(-1.5 * grid["t"].to_numpy())
    assert np.linalg.norm(model.predict(grid) - exact) / np.linalg.norm(exact) < 0.02
    plain = TheoryGuidedRegressor(**{**model.get_params(), "physics": None}).fit(labeled)
    assert np.linalg.norm(plain.predict(grid) - exact) / np.linalg.norm(exact) > 0.2


def test_subpackages_are_reachable_after_a_plain_import_tgds():
    # a fresh interpreter: in this one the tests have imported the subpackages already
    code = (
        "import sys, tgds\n"
        "assert 'matplotlib' not in sys.modules\n"
        "print(tgds.plot.learning_curves.__name__, tgds.datasets.make_lake.__name__,\n"
        "      tgds.runs.execute.__name__, tgds.report.render_report.__name__)\n"
        "try:\n    tgds.nothing\nexcept AttributeError as err:\n    print(err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == [
        "learning_curves make_lake execute render_report",
        "module 'tgds' has no attribute 'nothing'",
    ]


def test_physics_warmup_keeps_best_weights_from_full_weight_epochs(ramp):
    theory, df = ramp
    model = _fast(theory=theory, physics_warmup=10, physics_ramp=5, validation_fraction=0.2).fit(df)
    h = model.history_
    assert h["schedule"][:10] == [0.0] * 10 and h["schedule"][15:] == [1.0] * 25
    assert len(h["monotonic:rising"]) == 40  # recorded while it is off, too
    assert model.best_epoch_ > 15
    assert h["val_data"][model.best_epoch_ - 1] == min(h["val_data"][15:])
    no_physics = _fast(theory=theory, physics=None, physics_warmup=100).fit(
        df
    )  # nothing to warm up
    assert "schedule" not in no_physics.history_
    with pytest.raises(
        ValueError, match=r"physics_warmup \+ physics_ramp \(30 \+ 10\).*epochs \(40\)"
    ):
        _fast(theory=theory, physics_warmup=30, physics_ramp=10).fit(df)
    with pytest.raises(ValueError, match="physics_ramp"):
        _fast(theory=theory, physics_ramp=-1).fit(df)


def test_residual_of_a_physics_column(tmp_path):
    theory = Theory(
        variables=[Variable("x", "m"), Variable("sim", "K"), Variable("y", "K", role="target")],
    )
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 1, 60), "sim": rng.uniform(0, 100, 60)})
    df["y"] = df["sim"] + 0.5 * df["x"]  # the physics column is right up to a small correction
    model = _fast(theory=theory, residual_of="sim", epochs=80).fit(df)
    far = pd.DataFrame(
        {"x": [0.5, 0.5], "sim": [1000.0, -1000.0]}
    )  # far outside the training range
    np.testing.assert_allclose(model.predict(far), far["sim"] + 0.25, atol=0.3)
    loaded = tgds.load(tgds.save(model, tmp_path / "m.tgds"))
    np.testing.assert_array_equal(loaded.predict(far), model.predict(far))
    with pytest.raises(DataError, match="not model inputs"):
        _fast(theory=theory, inputs=["x"], residual_of="sim").fit(df)
    with pytest.raises(DataError, match="one input column per target"):
        _fast(theory=theory, residual_of=["sim", "x"]).fit(df)


def _hybrid_data(seed=0, n=60):
    theory = Theory(
        variables=[Variable("x", "m"), Variable("sim", "K"), Variable("y", "K", role="target")],
    )
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.uniform(0, 1, n), "sim": rng.uniform(0, 10, n)})
    df["y"] = df["sim"] + np.sin(6 * df["x"])  # a correction that varies inside the range
    return theory, df


def test_out_of_range_clip_holds_the_edge_value(tmp_path):
    theory, df = _hybrid_data()
    model = _fast(theory=theory, out_of_range="clip", epochs=60).fit(df)
    lo, hi = df["x"].min(), df["x"].max()
    edge = pd.DataFrame({"x": [lo, hi], "sim": [5.0, 5.0]})
    beyond = pd.DataFrame({"x": [lo - 3.0, hi + 3.0], "sim": [5.0, 5.0]})
    np.testing.assert_array_equal(model.predict(beyond), model.predict(edge))
    free = _fast(theory=theory, epochs=60).fit(df)  # the same network, extrapolating
    assert np.all(np.abs(free.predict(beyond) - free.predict(edge)) > 1e-3)
    loaded = tgds.load(tgds.save(model, tmp_path / "m.tgds"))
    np.testing.assert_array_equal(loaded.predict(beyond), model.predict(beyond))


def test_out_of_range_fade_returns_to_the_physics_column(tmp_path):
    theory, df = _hybrid_data()
    # no validation rows: those outside the range would make the guards pick other epochs
    kw = dict(theory=theory, residual_of="sim", epochs=60, validation_fraction=0.0)
    model = _fast(out_of_range="fade", **kw).fit(df)
    x_std, hi = float(model.model_.x_scale[0]), float(model.model_.x_upper[0])
    assert hi == pytest.approx(df["x"].max(), rel=1e-6)  # float32
    # one training standard deviation or more outside the range: exactly the physics column
    far = pd.DataFrame(
        {"x": [hi + 1.01 * x_std, hi + 5 * x_std, hi + 50], "sim": [5.0, -3.0, 20.0]}
    )
    np.testing.assert_array_equal(model.predict(far), far["sim"].to_numpy())
    # inside the range the correction is not faded: the same fit as with clipping alone
    # (up to float32 roundoff of the training steps)
    clipped = _fast(out_of_range="clip", **kw).fit(df)
    inside = df.iloc[:10]
    np.testing.assert_allclose(model.predict(inside), clipped.predict(inside), rtol=1e-6)
    # half a standard deviation out: weight (1 - 0.25)^2 of the network's correction there,
    # the network seeing the input unclipped (the same fit without any range guard)
    free = _fast(**kw).fit(df)
    half = pd.DataFrame({"x": [hi + 0.5 * x_std], "sim": [5.0]})
    correction = free.predict(half) - 5.0
    assert abs(correction[0]) > 0.05
    assert abs(correction[0] - (clipped.predict(half)[0] - 5.0)) > 1e-3  # not the edge value
    np.testing.assert_allclose(model.predict(half) - 5.0, 0.5625 * correction, rtol=1e-5)
    loaded = tgds.load(tgds.save(model, tmp_path / "m.tgds"))
    np.testing.assert_array_equal(loaded.predict(far), model.predict(far))
    with pytest.raises(DataError, match="needs residual_of"):
        _fast(theory=theory, out_of_range="fade").fit(df)
    with pytest.raises(ValueError, match="out_of_range"):
        _fast(theory=theory, out_of_range="hold").fit(df)


def _squared_weights(model):
    return sum(float(np.sum(np.asarray(layer.weight) ** 2)) for layer in model.model_.net.layers)


def test_alpha_is_an_l2_penalty_scaled_by_the_number_of_rows():
    from tgds.nn import l2_penalty

    theory, df = _hybrid_data(n=50)
    plain = _fast(theory=theory, epochs=30, validation_fraction=0.0).fit(df)
    assert "penalty" not in plain.history_
    model = _fast(theory=theory, epochs=30, alpha=5.0, validation_fraction=0.0).fit(df)
    # the recorded penalty is alpha / n * (sum of squared weights) of the model it trained
    squares = _squared_weights(model)
    assert float(l2_penalty(5.0 / 50)(model.model_)) == pytest.approx(5.0 / 50 * squares, rel=1e-5)
    assert model.history_["penalty"][-1] == pytest.approx(5.0 / 50 * squares, rel=0.05)
    strong = _fast(theory=theory, epochs=30, alpha=500.0, validation_fraction=0.0).fit(df)
    assert _squared_weights(strong) < _squared_weights(model) < _squared_weights(plain)
    with pytest.raises(ValueError, match="alpha"):
        _fast(theory=theory, alpha=-1.0).fit(df)


def test_physics_model_refuses_a_parameter_without_a_value():
    # it was taken for a data column, and silently read from X when X had one of that name
    theory = Theory(
        variables=[Variable("tt", "s"), Variable("y", "m", role="target")],
        parameters=[Parameter("v", "m/s")],
        physics_model=PhysicsModel(outputs={"y": "v*tt"}),
    )
    X = pd.DataFrame({"tt": [1.0, 2.0], "v": [3.0, 3.0]})
    with pytest.raises(TheoryError, match=r"parameter\(s\) \['v'\], which have no value"):
        PhysicsModelRegressor(theory=theory, calibrate=None).fit(X)
    # calibrated on y (v = 5), never read from the column v of X
    fitted = PhysicsModelRegressor(theory=theory).fit(X, [5.0, 10.0])
    assert fitted.parameters_ == pytest.approx({"v": 5.0})
