"""Resuming a checkpoint with more epochs, and what a refused checkpoint's message names.

A user fitted with epochs=100, refitted with epochs=150 and resume=True, and was told the
checkpoint came from "a different configuration or data" without a word of which.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
import pytest

import tgds.nn._train as loop
from tgds.exceptions import DataError, TgdsError
from tgds.models import TheoryGuidedClassifier, TheoryGuidedRegressor
from tgds.nn import LossTerm, ReLoBRaLo, TrainSettings, make_network, train, trainable_filter
from tgds.theory import Bounds, Monotonic, Theory, Variable
from tgds.utils import read_container_meta


@pytest.fixture(scope="module")
def ramp():
    """y = x1 + 0.5 x2 with bounds and a monotonic constraint, and unlabeled points."""
    theory = Theory(
        variables=[
            Variable("x1", "m", bounds=(0, 1)),
            Variable("x2", "m", bounds=(0, 1)),
            Variable("y", "K", bounds=(0, 2), role="target"),
        ],
        constraints=[Monotonic("y", wrt="x1", name="rising"), Bounds("y", name="range")],
    )
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x1": rng.uniform(0, 1, 60), "x2": rng.uniform(0, 1, 60)})
    df["y"] = df["x1"] + 0.5 * df["x2"]
    unlabeled = pd.DataFrame({"x1": rng.uniform(0, 1, 40), "x2": rng.uniform(0, 1, 40)})
    return theory, df, unlabeled


def _model(theory, **kw):
    # warm-up, ramp, adaptive weights and validation: every state a resume must carry over
    defaults = dict(
        theory=theory,
        hidden=(8,),
        learning_rate=1e-2,
        random_state=0,
        physics_warmup=2,
        physics_ramp=3,
        weighting=ReLoBRaLo(),
        checkpoint_every=3,
    )
    return TheoryGuidedRegressor(**{**defaults, **kw})


def _assert_same_fit(a, b, X):
    assert a.predict(X).tobytes() == b.predict(X).tobytes()
    assert a.history_ == b.history_
    assert (a.n_epochs_, a.best_epoch_, a.stopped_early_) == (
        b.n_epochs_,
        b.best_epoch_,
        b.stopped_early_,
    )


class _Stop(Exception):
    pass


@pytest.mark.parametrize("interrupted", [False, True], ids=["finished", "interrupted"])
def test_resuming_with_more_epochs_gives_the_longer_fit_bit_for_bit(
    tmp_path, ramp, interrupted, monkeypatch
):
    theory, df, unlabeled = ramp
    ckpt = tmp_path / "ck.tgds"
    if interrupted:  # killed after the checkpoint of epoch 6 of 10

        def stop_after_6(path, state, *args):
            real(path, state, *args)
            if state.epoch == 6:
                raise _Stop

        real = loop._save_checkpoint
        with monkeypatch.context() as mp:
            mp.setattr(loop, "_save_checkpoint", stop_after_6)
            with pytest.raises(_Stop):
                _model(theory, epochs=10, checkpoint_path=ckpt).fit(df, X_unlabeled=unlabeled)
    else:
        _model(theory, epochs=8, checkpoint_path=ckpt).fit(df, X_unlabeled=unlabeled)
    trained = read_container_meta(ckpt, "checkpoint-1")["epoch"]
    assert trained == (6 if interrupted else 8)
    # verbose and checkpoint_every may change too: neither changes an epoch
    resumed = _model(theory, epochs=15, checkpoint_path=ckpt, checkpoint_every=4).fit(
        df, X_unlabeled=unlabeled, resume=True
    )
    full = _model(theory, epochs=15).fit(df, X_unlabeled=unlabeled)  # no checkpoint at all
    assert resumed.n_epochs_ == 15 and not resumed.stopped_early_
    _assert_same_fit(resumed, full, df)


def test_an_early_stopped_fit_stays_finished_when_resumed_with_more_epochs(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.5 * rng.normal(size=200)

    def model(**kw):
        return TheoryGuidedRegressor(
            hidden=(16,), patience=2, learning_rate=0.05, random_state=0, **kw
        )

    first = model(epochs=100, checkpoint_path=tmp_path / "c.tgds").fit(X, y)
    assert first.stopped_early_ and first.n_epochs_ < 100
    again = model(epochs=300, checkpoint_path=tmp_path / "c.tgds").fit(X, y, resume=True)
    _assert_same_fit(again, first, X)
    # and that is the fit of 300 epochs: it stops at the same epoch
    _assert_same_fit(again, model(epochs=300).fit(X, y), X)


@pytest.fixture(scope="module")
def _checkpoint_bytes(ramp, tmp_path_factory):
    theory, df, unlabeled = ramp
    path = tmp_path_factory.mktemp("ck") / "ck.tgds"
    _model(theory, epochs=8, checkpoint_path=path).fit(df, X_unlabeled=unlabeled)
    return path.read_bytes()


@pytest.fixture
def ckpt(_checkpoint_bytes, tmp_path):
    """A checkpoint of ``_model(theory, epochs=8)`` fitted on the ramp and its points."""
    path = tmp_path / "ck.tgds"
    path.write_bytes(_checkpoint_bytes)
    return path


def _refusal(ramp, ckpt, data=None, unlabeled=None, **kw):
    theory, df, points = ramp
    model = _model(**{"theory": theory, "epochs": 12, "checkpoint_path": ckpt, **kw})
    with pytest.raises(TgdsError, match="written by a different configuration or data") as err:
        model.fit(
            df if data is None else data,
            X_unlabeled=points if unlabeled is None else unlabeled,
            resume=True,
        )
    return str(err.value)


def test_fewer_epochs_than_trained_are_refused_with_the_epochs_to_set(ramp, ckpt):
    theory, df, unlabeled = ramp
    with pytest.raises(
        TgdsError,
        match=r"has trained 8 epochs, more than the 6 epochs of this training; set "
        r"epochs to at least 8 to resume it",
    ):
        _model(theory, epochs=6, checkpoint_path=ckpt).fit(df, X_unlabeled=unlabeled, resume=True)


def test_a_refused_checkpoint_names_the_parameters_that_differ(ramp, ckpt):
    message = _refusal(ramp, ckpt, learning_rate=1e-3, hidden=[4], patience=5)
    assert "its parameters differ from this training's" in message
    for change in ("learning_rate: 0.01 -> 0.001", "hidden: [8] -> [4]", "patience: 50 -> 5"):
        assert change in message
    assert "epochs" not in message and "training rows" not in message
    # equal values written another way are not differences
    message = _refusal(ramp, ckpt, hidden=(8,), physics_weight=1, activation="relu")
    assert "activation: 'tanh' -> 'relu'" in message
    assert "hidden" not in message and "physics_weight" not in message
    many = dict(activation="relu", alpha=0.1, batch_size=8, clip_norm=2.0, hidden=[4])
    assert "clip_norm: 1.0 -> 2.0; and hidden. " in _refusal(ramp, ckpt, **many)


def test_a_refused_checkpoint_names_another_estimator_class(ramp, ckpt):
    theory, df, _ = ramp
    labels = df.assign(y=(df["y"] > 0.8).astype(int))
    with pytest.raises(
        TgdsError, match="estimator: 'TheoryGuidedRegressor' -> 'TheoryGuidedClassifier'"
    ):
        TheoryGuidedClassifier(
            hidden=(8,), epochs=12, learning_rate=1e-2, random_state=0, checkpoint_path=ckpt
        ).fit(labels[["x1", "x2"]], labels["y"], resume=True)


def test_a_refused_checkpoint_with_the_same_parameters_names_the_data_that_differ(ramp, ckpt):
    theory, df, unlabeled = ramp
    message = _refusal(ramp, ckpt, data=df.assign(y=df["y"] * 0.9))
    assert "its training rows" in message and "parameters" not in message
    assert "unlabeled points" not in message
    message = _refusal(ramp, ckpt, unlabeled=unlabeled * 0.5)
    assert "its unlabeled points" in message and "training rows" not in message
    flipped = Theory(
        variables=theory.variables,
        constraints=[
            Monotonic("y", wrt="x1", direction="decreasing", name="rising"),
            Bounds("y", name="range"),
        ],
    )
    message = _refusal(ramp, ckpt, theory=flipped)
    assert "its theory" in message and "training rows" not in message
    assert "parameters" not in message and "unlabeled points" not in message


# What the version before this change wrote as the fingerprint of _tiny(epochs=6) on
# _TINY_X: its parameters with epochs, its data and points. (A new parameter of the
# estimators changes it, as it changed the fingerprints of such checkpoints.)
_EARLIER_FINGERPRINT = "111a31b1291f2afca0b6bb89d8a1c3ad8c8b884e3f80ebd81d950bf8bdfcb324"
_TINY_X = np.linspace(-1, 1, 12).reshape(-1, 1)


def _tiny(path, **kw):
    return TheoryGuidedRegressor(
        **{"hidden": (2,), "batch_size": 4, "random_state": 0, "checkpoint_path": path, **kw}
    )


def test_a_checkpoint_of_the_earlier_version_still_resumes(tmp_path, forge_meta):
    path = tmp_path / "old.tgds"
    _tiny(path, epochs=6).fit(_TINY_X, _TINY_X[:, 0] ** 2)

    def earlier(meta):  # as the earlier version wrote it: no configuration, epochs in the hash
        meta["fingerprint"], meta["info"] = _EARLIER_FINGERPRINT, {}

    path.write_bytes(forge_meta(path.read_bytes(), earlier))
    history = read_container_meta(path, "checkpoint-1")["history"]
    same = _tiny(path, epochs=6).fit(_TINY_X, _TINY_X[:, 0] ** 2, resume=True)
    assert same.history_ == history  # accepted, nothing trained again
    path.write_bytes(forge_meta(path.read_bytes(), earlier))
    longer = _tiny(path, epochs=9).fit(_TINY_X, _TINY_X[:, 0] ** 2, resume=True)
    assert longer.n_epochs_ == 9 and longer.history_["loss"][:6] == history["loss"]
    # the resume rewrote it as this version does: it records its configuration
    assert "configuration" in read_container_meta(path, "checkpoint-1")["info"]
    path.write_bytes(forge_meta(path.read_bytes(), earlier))
    with pytest.raises(TgdsError, match=r"different configuration or data \(for the estimators"):
        _tiny(path, epochs=6, learning_rate=0.01).fit(_TINY_X, _TINY_X[:, 0] ** 2, resume=True)


def test_train_writes_the_first_fingerprint_and_accepts_any(tmp_path):
    x = np.linspace(-1, 1, 16).reshape(-1, 1)
    net = make_network(
        x,
        x,
        hidden=(4,),
        activation="tanh",
        fourier_features=0,
        fourier_scale=1.0,
        lower=np.full(1, -np.inf),
        upper=np.full(1, np.inf),
        hard_bounds=False,
        key=jax.random.PRNGKey(0),
    )
    term = LossTerm(
        "data", lambda m, b: jnp.mean((jax.vmap(m)(b["x"]) - b["y"]) ** 2), {"x": x, "y": x}, 8
    )
    path = tmp_path / "ck.tgds"

    def run(epochs, fingerprint, configuration=None):
        settings = TrainSettings(optimizer=optax.adam(1e-2), epochs=epochs, checkpoint=path)
        info = {"configuration": configuration} if configuration else None
        return train(
            net,
            [term],
            settings,
            jax.random.PRNGKey(0),
            trainable=trainable_filter(net),
            resume=True,
            fingerprint=fingerprint,
            info=info,
        )

    run(3, "old")
    assert run(5, ("new", "old")).epochs_run == 5
    assert read_container_meta(path, "checkpoint-1")["fingerprint"] == "new"
    with pytest.raises(TgdsError, match=r"\(for the estimators"):  # no configuration stored
        run(5, "other", {"parameters": {"rate": 0.1}})
    run(5, "new", {"parameters": {"rate": 0.01, "width": [4]}, "data": {"points": "a"}})
    with pytest.raises(
        TgdsError, match=r"parameters differ from this training's: rate: 0.01 -> 0.1\."
    ):
        run(6, "other", {"parameters": {"rate": 0.1, "width": (4,)}, "data": {"points": "a"}})
    with pytest.raises(TgdsError, match=r": its points differ from this training's\."):
        run(6, "other", {"parameters": {"rate": 0.01, "width": [4.0]}, "data": {"points": "b"}})


def test_resume_without_a_checkpoint_path_is_refused():
    # it trained from scratch without a word
    X, y = np.linspace(0, 1, 8).reshape(-1, 1), np.linspace(0, 1, 8)
    with pytest.raises(
        DataError, match=r"fit\(resume=True\) continues from checkpoint_path, which is None"
    ):
        TheoryGuidedRegressor(epochs=1).fit(X, y, resume=True)
