"""mrixai.explain / predict against Captum's golden maps and the command line (bit for bit)."""

import json

import numpy as np
import pytest

import mrixai
from conftest import FIXTURES

CASE = FIXTURES / "captum" / "vgg_small"
X = np.load(CASE / "inputs.npy")
T = np.load(CASE / "targets.npy")

# (mrixai method, parameters, Captum file)
GOLDEN = [
    ("gradient", {}, "gradient.npy"),
    ("input_x_gradient", {}, "input_x_gradient.npy"),
    ("integrated_gradients", {"n_steps": 50}, "integrated_gradients.npy"),
    ("deeplift", {}, "deeplift.npy"),
    ("guided_backprop", {}, "guided_backprop.npy"),
    ("occlusion", {"sliding_window_shapes": (1, 8, 8), "strides": (1, 4, 4)}, "occlusion.npy"),
]


def _relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("method,params,file", GOLDEN)
def test_explain_equals_captum(method, params, file):
    calls = json.loads((CASE / "methods.json").read_text())["methods"]
    key = file[:-4]
    if key == "occlusion" and "sliding_window_shapes=(1, 8, 8)" not in calls[key]["call"]:
        pytest.skip(f"occlusion golden call differs: {calls[key]['call']}")
    got = mrixai.explain(CASE, X, T, method, **params)
    want = np.load(CASE / file)
    assert got.shape == want.shape and got.dtype == np.float32
    assert _relative(got, want) < 1e-5


def test_captum_names_and_saliency_default():
    got = mrixai.explain(CASE, X, T, "Saliency")
    np.testing.assert_array_equal(got, np.abs(mrixai.explain(CASE, X, T, "gradient")))
    ig = mrixai.explain(CASE, X, T, "IntegratedGradients", n_steps=50)
    np.testing.assert_array_equal(ig, mrixai.explain(CASE, X, T, "integrated_gradients"))


@pytest.mark.parametrize("method", ["integrated_gradients", "lrp", "grad_cam", "gradient_shap"])
def test_explain_equals_cli_bit_for_bit(method, cli, tmp):
    out = tmp / "a.npy"
    cli("explain", "--model", CASE, "--input", CASE / "inputs.npy", "--target",
        CASE / "targets.npy", "--method", method, "--batch-size", 4, "--out", out)
    np.testing.assert_array_equal(mrixai.explain(CASE, X, T, method, batch_size=4), np.load(out))


def test_targets_default_to_the_prediction_and_ints_broadcast():
    pred = mrixai.predict(CASE, X).argmax(1)
    np.testing.assert_array_equal(
        mrixai.explain(CASE, X, None, "gradient"), mrixai.explain(CASE, X, pred, "gradient")
    )
    np.testing.assert_array_equal(
        mrixai.explain(CASE, X, 1, "gradient"),
        mrixai.explain(CASE, X, np.ones(len(X), np.int32), "gradient"),
    )


def test_oracle_reads_masks_from_the_call():
    masks = (X > 0.5).astype(np.uint8)
    np.testing.assert_array_equal(mrixai.explain(CASE, X, T, "oracle", masks=masks), masks)
    with pytest.raises(ValueError, match="oracle needs ground-truth masks"):
        mrixai.explain(CASE, X, T, "oracle")


def test_predict_equals_pytorch_and_cli(cli, tmp):
    logits = mrixai.predict(CASE, X)
    np.testing.assert_allclose(logits, np.load(CASE / "logits.npy"), rtol=0, atol=1e-5)
    np.save(tmp / "x.npy", X)
    cli("predict", "--model", CASE, "--input", tmp / "x.npy", "--out", tmp / "l.npy")
    np.testing.assert_array_equal(logits, np.load(tmp / "l.npy"))


def test_bad_input_raises():
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        mrixai.explain("no-such-model", X, T, "gradient")
    cases = [
        (dict(method="nope"), "unknown method"),
        (dict(method="integrated_gradients", n_steps=0), "n_steps"),
        (dict(method="gradient", bogus=1), "bogus"),
        (dict(method="gradient", target=T[:2]), "target"),
        (dict(method="gradient", target=np.full(len(X), 7)), "target"),
        (dict(method="gradient", target=np.full(len(X), 0.5)), "class index"),
        (dict(method="gradient", inputs=X[:, :, :10]), "expected shape [N, 1, 64, 64]"),
        (dict(method="gradient", inputs=np.where(X > 0.9, np.nan, X)), "non-finite"),
        (dict(method="gradient", batch_size=0), "batch size"),
    ]
    for kwargs, words in cases:
        kw = dict(inputs=X, target=T)
        kw.update(kwargs)
        with pytest.raises(ValueError) as e:
            mrixai.explain(CASE, **kw)
        assert words.lower() in str(e.value).lower(), (kwargs, str(e.value))


def test_device_argument():
    """`device=` picks where the model runs: cpu is the default; a GPU needs a wheel built with
    the cargo feature `gpu` (otherwise one error naming it) and equals the CPU where it runs."""
    cpu = mrixai.predict(CASE, X)
    np.testing.assert_array_equal(mrixai.predict(CASE, X, device="cpu"), cpu)
    with pytest.raises(ValueError, match="`tpu`"):
        mrixai.predict(CASE, X, device="tpu")
    try:
        gpu = mrixai.predict(CASE, X, device="gpu")
        grads = mrixai.explain(CASE, X, T, "gradient", device="gpu")
    except ValueError as e:
        assert "cargo feature `gpu`" in str(e) or "no usable GPU adapter" in str(e), str(e)
    else:
        np.testing.assert_allclose(gpu, cpu, rtol=0, atol=1e-5)
        ref = mrixai.explain(CASE, X, T, "gradient")
        assert _relative(grads, ref) < 1e-5


VOLUME = FIXTURES / "captum" / "vgg3d"


@pytest.mark.parametrize("method,file", [("deeplift", "deeplift.npy"), ("grad_cam", "grad_cam.npy")])
def test_volumes_in_and_out(method, file):
    """A 3-D model takes 5-D batches and returns 5-D maps (and logits) equal to Captum's."""
    x, t = np.load(VOLUME / "inputs.npy"), np.load(VOLUME / "targets.npy")
    assert x.ndim == 5
    got = mrixai.explain(VOLUME, x, t, method)
    want = np.load(VOLUME / file)
    assert got.shape == want.shape and _relative(got, want) < 1e-5
    np.testing.assert_allclose(
        mrixai.predict(VOLUME, x), np.load(VOLUME / "logits.npy"), rtol=0, atol=1e-5
    )
    with pytest.raises(ValueError, match="D, H, W"):
        mrixai.predict(VOLUME, x[:, :, 0])
