"""The book's networks (chapters 10 and 14): weight counts, Keras conventions, the three
convolution implementations agree (values and gradients), layer outputs, clear errors."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from deepmath_jax.engine import models, parallel
from helpers import assert_float32_close, assert_within, float32_tolerance


@pytest.mark.parametrize("name", sorted(models.BOOK_MODELS))
def test_book_weight_counts(name):
    spec = models.BOOK_MODELS[name]
    model = models.build(name)
    assert models.count_params(model) == spec.weights


def test_mnist_dense_formula():
    # 785p + p(p+1) + 10(p+1), book table L5617–5624
    for p in (8, 10, 15, 20, 50):
        m = models.mnist_dense(p, rngs=nnx.Rngs(0))
        assert models.count_params(m) == 785 * p + p * (p + 1) + 10 * (p + 1)


def test_keras_initialisation_glorot_uniform_and_zero_bias():
    m = models.mnist_dense(50, rngs=nnx.Rngs(0))
    first = m.layers[0]
    limit = np.sqrt(6 / (784 + 50))
    k = np.asarray(first.kernel[...])
    assert np.abs(k).max() <= limit
    assert np.abs(k).max() > 0.9 * limit  # uniform on the whole interval
    assert abs(k.std() - limit / np.sqrt(3)) < 0.05 * limit  # std of U(−a, a) is a/√3
    assert np.all(np.asarray(first.bias[...]) == 0)
    # convolution: fan = k·k·channels
    c = models.mnist_cnn(rngs=nnx.Rngs(0)).layers[1]
    assert np.abs(np.asarray(c.kernel[...])).max() <= np.sqrt(6 / (9 * 32 + 9 * 16))


def test_same_seed_same_weights_and_flax_init_differs():
    a = nnx.state(models.build("mnist_cnn", seed=3), nnx.Param)
    b = nnx.state(models.build("mnist_cnn", seed=3), nnx.Param)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    f = models.mnist_dense(8, init="flax", rngs=nnx.Rngs(0)).layers[0].kernel[...]
    k = models.mnist_dense(8, rngs=nnx.Rngs(0)).layers[0].kernel[...]
    assert not np.allclose(f, k)


def test_outputs_are_keras_outputs_and_logits_before_activation():
    m = models.mnist_dense(8, rngs=nnx.Rngs(0))
    x = jax.random.uniform(jax.random.key(1), (5, 784))
    probs = m(x)
    # each p_i carries the rounding of the 10-term normalising sum; adding the 10 p_i, 10 more
    assert_float32_close(probs.sum(axis=1), np.ones(5), reduction=2 * 10, scale=1.0)
    # model(x) is softmax(logits(x)): the same operations on the same values, the same bits
    np.testing.assert_array_equal(probs, jax.nn.softmax(m.logits(x)))
    assert m.output_activation == "softmax"
    imdb = models.imdb_dense(rngs=nnx.Rngs(0))
    xi = (jax.random.uniform(jax.random.key(2), (4, 1000)) < 0.1).astype(jnp.float32)
    np.testing.assert_array_equal(imdb(xi), jax.nn.sigmoid(imdb.logits(xi)))


def test_dense_network_by_hand():
    m = models.function_2d(rngs=nnx.Rngs(0))
    x = jnp.array([[0.5, -1.0], [2.0, 3.0]])
    h, scale = x, jnp.abs(x)
    for layer in m.layers:
        h = layer.kernel[...].T @ h.T
        h = h.T + layer.bias[...][None, :]
        h = jnp.maximum(h, 0) if layer.activation == "relu" else h
        # Σ|terms| layer by layer: the same network on |x| with |W|, |b| and no activation
        # (ReLU is 1-Lipschitz and |relu(z)| ≤ |z|), which bounds the error carried forward too
        scale = scale @ jnp.abs(layer.kernel[...]) + jnp.abs(layer.bias[...])[None, :]
    # the products in another layout: 2 + 10 + 10 + 10 terms and the 4 biases on the path
    assert_float32_close(m(x), h, reduction=2 + 10 + 10 + 10 + 4, scale=scale)


def test_features_are_each_layer_output():
    m = models.viz_cnn(rngs=nnx.Rngs(0))
    x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
    feats = m.features(x)
    assert [f.shape for f in feats] == [
        (2, 28, 28, 16),
        (2, 28, 28, 16),
        (2, 14, 14, 16),
        (2, 3136),
        (2, 10),
    ]
    np.testing.assert_array_equal(feats[-1], m(x))  # the same layers on the same values
    np.testing.assert_array_equal(feats[2], models.max_pool_2x2(feats[1]))
    assert np.all(np.asarray(feats[0]) >= 0)  # ReLU


def _conv_reference(x, k):
    """Correlation 'same' by the definition, in float64 numpy."""
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    b, h, w, _ = x.shape
    n = k.shape[0]
    p = n // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros((b, h, w, k.shape[3]))
    for i in range(n):
        for j in range(n):
            out += np.einsum("bhwc,co->bhwo", xp[:, i : i + h, j : j + w, :], k[i, j])
    return out


# Float32 tolerances of two implementations of a convolution layer (helpers.float32_tolerance:
# n·eps·Σ|terms| for each sum). ReLU and the identity pass an error on unchanged (1-Lipschitz);
# the fused backward pass reads act'(z) from the output y, so for σ and tanh an error dz in z
# moves it by at most max|act''|·dz, and forming g·act' from y (y itself, 1 − y or y², two
# products) rounds ≤ 4 more times.
_SLOPE = {  # act'(z), float64
    "linear": np.ones_like,
    "relu": lambda z: (z > 0).astype(np.float64),
    "sigmoid": lambda z: 1 / (2 + 2 * np.cosh(z)),  # σ(1 − σ)
    "tanh": lambda z: 1 / np.cosh(z) ** 2,
}
_CURVATURE = {"linear": 0.0, "relu": 0.0, "sigmoid": 1 / (6 * np.sqrt(3)), "tanh": 4 / (3 * np.sqrt(3))}


def _conv_back_scales(x, w, t):
    """Σ|terms| of the two gradients of Σ conv(x, K)·t, for t ≥ 0: dx[b,h,w,c] sums |t||K| over
    the k·k taps and O output channels, dK[i,j,c,o] sums |x̃||t| over B·H·W (the gradient of the
    same bilinear map at |x|, |K|)."""
    t = jnp.asarray(t, jnp.float32)
    f = lambda x, w: jnp.sum(models.conv2d_same(x, w, impl="xla") * t)  # noqa: E731
    return [np.asarray(a, np.float64) for a in jax.grad(f, argnums=(0, 1))(jnp.abs(x), jnp.abs(w))]


def _preactivation(x, w, b):
    """z = conv(x, K) + b in float64, and the |difference| allowed between two float32
    evaluations of it: each entry sums k·k·C products and the bias."""
    x64, w64, b64 = (np.asarray(a, np.float64) for a in (x, w, b))
    k, _, cin, _ = w.shape
    scale = _conv_reference(np.abs(x64), np.abs(w64)) + np.abs(b64)
    return _conv_reference(x64, w64) + b64, float32_tolerance(k * k * cin + 1, scale)


def _conv_layer_tolerances(x, w, b, g, activation):
    """Element-wise |difference| allowed between two float32 evaluations of y = act(conv(x, K) + b)
    and of the gradients (dx, dK, db) of Σ y·g: (tol_y, tol_dx, tol_dK, tol_db)."""
    k, _, _, cout = w.shape
    bhw = x.shape[0] * x.shape[1] * x.shape[2]
    z, dz = _preactivation(x, w, b)
    smooth = _CURVATURE[activation] > 0
    rounding = float32_tolerance(4, 1.0) if smooth else 0.0
    g64 = np.asarray(g, np.float64)
    gz = np.abs(g64) * _SLOPE[activation](z)  # |g·act'(z)|
    dgz = np.abs(g64) * (_CURVATURE[activation] * dz + rounding)  # how far g·act' may move
    (sx, sw), (ex, ew) = _conv_back_scales(x, w, gz), _conv_back_scales(x, w, dgz)
    return (
        dz + rounding,  # |act'| ≤ 1
        float32_tolerance(k * k * cout, sx) + ex,  # dx sums k·k·O terms
        float32_tolerance(bhw, sw) + ew,  # dK and db sum over B·H·W
        float32_tolerance(bhw, gz.sum((0, 1, 2))) + dgz.sum((0, 1, 2)),
    )


@pytest.mark.parametrize("cin,cout,k", [(1, 4, 3), (3, 5, 3), (2, 3, 5)])
def test_three_convolutions_agree_with_the_definition(cin, cout, k):
    kx, kk = jax.random.split(jax.random.key(cin * 10 + k))
    x = jax.random.normal(kx, (2, 7, 6, cin))
    w = jax.random.normal(kk, (k, k, cin, cout))
    ref = _conv_reference(x, w)
    scale = _conv_reference(np.abs(x), np.abs(w))
    for impl in ("fast", "xla", "im2col"):
        # each output sums k·k·C products
        assert_float32_close(models.conv2d_same(x, w, impl=impl), ref, reduction=k * k * cin,
                             scale=scale, err_msg=impl)


@pytest.mark.parametrize("cin", [1, 4])
def test_hand_written_convolution_gradient_equals_jax(cin):
    kx, kk, kg = jax.random.split(jax.random.key(cin), 3)
    x = jax.random.normal(kx, (3, 6, 5, cin))
    w = jax.random.normal(kk, (3, 3, cin, 2))
    g = jax.random.normal(kg, (3, 6, 5, 2))

    def loss(impl):
        return lambda x, w: jnp.sum(models.conv2d_same(x, w, impl=impl) * g)

    gx, gw = jax.jit(jax.grad(loss("fast"), argnums=(0, 1)))(x, w)
    rx, rw = jax.jit(jax.grad(loss("xla"), argnums=(0, 1)))(x, w)
    ix, iw = jax.jit(jax.grad(loss("im2col"), argnums=(0, 1)))(x, w)
    sx, sw = _conv_back_scales(x, w, jnp.abs(g))
    for dx in (gx, ix):  # dx sums 3·3 taps × 2 output channels
        assert_float32_close(dx, rx, reduction=3 * 3 * 2, scale=sx)
    for dw in (gw, iw):  # dK sums over B·H·W = 3·6·5
        assert_float32_close(dw, rw, reduction=3 * 6 * 5, scale=sw)


@pytest.mark.parametrize("cin,cout,k", [(1, 32, 3), (32, 16, 3), (3, 4, 5)])
def test_fast_conv_layer_equals_nnx_conv_values_and_gradients(cin, cout, k):
    # The bench's fast layer (hand-written gradient) against Flax's own nnx.Conv with the same
    # weights: outputs and the gradients of input, kernel and bias of a random linear functional.
    kx, kg = jax.random.split(jax.random.key(cin + cout))
    ours = models.Conv2D(cin, cout, k, "relu", impl="fast", rngs=nnx.Rngs(1))
    ours.bias[...] = jax.random.normal(jax.random.key(2), (cout,))
    ref = nnx.Conv(cin, cout, (k, k), padding="SAME", rngs=nnx.Rngs(0))
    ref.kernel[...] = ours.kernel[...]
    ref.bias[...] = ours.bias[...]
    x = jax.random.normal(kx, (4, 9, 8, cin))
    g = jax.random.normal(kg, (4, 9, 8, cout))

    def grads(layer, pre):
        def loss(m, x):
            return jnp.sum(jax.nn.relu(pre(m, x)) * g)

        return jax.jit(nnx.grad(loss, argnums=(0, 1)))(layer, x)

    (rm, rx) = grads(ref, lambda m, x: m(x))
    tol_y, tol_x, tol_w, tol_b = _conv_layer_tolerances(x, ours.kernel[...], ours.bias[...], g, "relu")
    y, want_y = ours(x), jax.nn.relu(ref(x))
    assert_within(y, want_y, tol_y)
    # no pre-activation within round-off of 0: the ReLU masks, hence the gradients' terms, agree
    np.testing.assert_array_equal(y > 0, want_y > 0)
    # through the preactivation (conv2d_same's gradient) and through the whole fused layer
    # (relu(relu(z)) has the gradient of relu(z))
    for pre in (lambda m, x: m.preactivation(x), lambda m, x: m(x)):
        (gm, gx) = grads(ours, pre)
        assert_within(gx, rx, tol_x, err_msg="dx")
        assert_within(gm.kernel[...], rm.kernel[...], tol_w, err_msg="dK")
        assert_within(gm.bias[...], rm.bias[...], tol_b, err_msg="db")


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "linear"])
@pytest.mark.parametrize("cin", [1, 3])
def test_fused_conv_layer_gradient_equals_jax(cin, activation):
    # conv2d_layer's one hand-written gradient (from the saved output y = act(z)) against
    # jax.grad of the composed act(conv + b) with lax.conv_general_dilated
    kx, kw, kb, kg = jax.random.split(jax.random.key(cin), 4)
    x = jax.random.normal(kx, (3, 7, 6, cin))
    w = jax.random.normal(kw, (3, 3, cin, 4))
    b = jax.random.normal(kb, (4,))
    g = jax.random.normal(kg, (3, 7, 6, 4))

    def loss(impl):
        return lambda x, w, b: jnp.sum(models.conv2d_layer(x, w, b, activation, impl=impl) * g)

    got = jax.jit(jax.grad(loss("fast"), argnums=(0, 1, 2)))(x, w, b)
    ref = jax.jit(jax.grad(loss("xla"), argnums=(0, 1, 2)))(x, w, b)
    tol_y, *tols = _conv_layer_tolerances(x, w, b, g, activation)
    y, want_y = models.conv2d_layer(x, w, b, activation), models.conv2d_layer(x, w, b, activation,
                                                                             impl="xla")
    assert_within(y, want_y, tol_y)
    if activation == "relu":  # no pre-activation within round-off of 0: the same masks
        np.testing.assert_array_equal(y > 0, want_y > 0)
    for a, r, tol, name in zip(got, ref, tols, ("dx", "dK", "db"), strict=True):
        assert_within(a, r, tol, err_msg=name)
    with pytest.raises(ValueError, match="bias must have shape"):
        models.conv2d_layer(x, w, b[:2], activation)


def test_kernel_gradient_by_definition():
    # dW[i,j,c,o] = Σ x̃[b,h+i,w+j,c] g[b,h,w,o]: the book's "each input contributes in
    # proportion to its value" (L7009–7011)
    x = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2) / 10
    g = np.ones((2, 4, 4, 3), np.float32)
    dw = models._kernel_grad(jnp.asarray(x), jnp.asarray(g), 3)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = np.stack(
        [
            np.stack([xp[:, i : i + 4, j : j + 4, :].sum(axis=(0, 1, 2)) for j in range(3)])
            for i in range(3)
        ]
    )
    # float32 sums of B·H·W = 2·4·4 terms, in another order; every term ≥ 0, so Σ|terms| = ref
    want = np.repeat(ref[..., None], 3, axis=-1)
    assert_float32_close(dw, want, reduction=2 * 4 * 4, scale=want)


def test_models_with_each_conv_impl_agree():
    """Layer by layer, each fed the same input: end to end, the error bound would carry the
    convolutions' round-off through the 12 544-term Dense layer (Σ|terms| of the network on |x|
    with |W| ≈ 760 for logits ≈ 0.3): far too loose to test anything."""
    x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
    fast = models.mnist_cnn(impl="fast", rngs=nnx.Rngs(0))
    xla = models.mnist_cnn(impl="xla", rngs=nnx.Rngs(0))
    for a, b in zip(jax.tree.leaves(nnx.state(fast, nnx.Param)),
                    jax.tree.leaves(nnx.state(xla, nnx.Param)), strict=True):
        np.testing.assert_array_equal(a, b)  # the same weights
    h = x
    for got, want in zip(fast.layers, xla.layers, strict=True):
        if isinstance(want, models.Conv2D):  # ReLU layers: the pre-activation's tolerance
            assert_within(got(h), want(h), _preactivation(h, want.kernel[...], want.bias[...])[1])
        else:  # Flatten and Dense: the same code on the same values
            np.testing.assert_array_equal(got(h), want(h))
        h = want(h)


def test_max_pool_drops_odd_edge_like_keras():
    x = jnp.arange(2 * 5 * 5 * 1, dtype=jnp.float32).reshape(2, 5, 5, 1)
    y = models.max_pool_2x2(x)
    assert y.shape == (2, 2, 2, 1)
    assert float(y[0, 0, 0, 0]) == 6.0  # max of [[0,1],[5,6]]


def test_dropout_only_in_training_mode():
    m = models.cats_dogs_cnn(size=16, rngs=nnx.Rngs(0))
    x = jax.random.uniform(jax.random.key(0), (2, 16, 16, 3))
    np.testing.assert_array_equal(m(x), m(x))  # evaluation: deterministic
    m.train()
    a, b = m.features(x)[2], m.features(x)[2]
    assert float(jnp.mean(a == 0)) > 0.3 and not np.array_equal(a, b)
    m.eval()
    assert float(jnp.mean(m.features(x)[2] == 0)) < float(jnp.mean(a == 0))


def test_cifar_without_pooling_and_summary():
    m = models.build("cifar_cnn_nopool")
    assert models.count_params(m) == 767_946
    text = models.build("mnist_cnn").summary()
    assert "130,394" in text and "(28, 28, 32)" in text


def test_errors_are_clear():
    m = models.mnist_dense(8, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 784\)"):
        m(jnp.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="unknown book model"):
        models.build("resnet")
    with pytest.raises(ValueError, match="unknown activation"):
        models.Dense(2, 3, "swish", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="input channels"):
        models.conv2d_same(jnp.zeros((1, 5, 5, 2)), jnp.zeros((3, 3, 1, 4)))
    with pytest.raises(ValueError, match="k odd"):
        models.conv2d_same(jnp.zeros((1, 5, 5, 1)), jnp.zeros((2, 2, 1, 4)))
    with pytest.raises(ValueError, match="impl must be"):
        models.conv2d_same(jnp.zeros((1, 5, 5, 1)), jnp.zeros((3, 3, 1, 4)), impl="fft")
    with pytest.raises(ValueError, match="init must be"):
        models.mnist_dense(8, init="he", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="p must be"):
        models.mnist_dense(0, rngs=nnx.Rngs(0))


def test_initialisers_have_the_stated_laws():
    k = models.glorot_uniform(jax.random.key(0), (3, 3, 32, 64))
    a = np.sqrt(6 / (9 * 32 + 9 * 64))
    assert k.shape == (3, 3, 32, 64) and k.dtype == jnp.float32
    assert np.abs(np.asarray(k)).max() <= a and abs(float(k.std()) - a / np.sqrt(3)) < 0.03 * a
    n = models.lecun_normal(jax.random.key(1), (400, 300))
    assert abs(float(n.std()) - np.sqrt(1 / 400)) < 0.02 * np.sqrt(1 / 400)
    assert float(jnp.abs(n).max()) <= 2 * np.sqrt(1 / 400) / 0.8796256610342398 + 1e-6
    # same key → same draw; another key → another draw
    np.testing.assert_array_equal(k, models.glorot_uniform(jax.random.key(0), (3, 3, 32, 64)))
    assert not np.allclose(k, models.glorot_uniform(jax.random.key(2), (3, 3, 32, 64)))


def test_conv_compiler_options_same_gradients():
    # The XLA option only changes which CPU kernels run the convolutions: same gradients; an
    # unknown option name would be rejected by jax.jit here.
    cnn = models.build("viz_cnn")
    opts = models.conv_compiler_options(cnn)
    assert models.conv_compiler_options(models.build("mnist_dense_p8")) is None
    if jax.default_backend() == "cpu":
        assert opts == models.CONV_CPU_COMPILER_OPTIONS
        # over several CPU devices (the tests simulate 4) XLA's defaults: one core per device
        assert models.conv_compiler_options(cnn, parallel.data_mesh()) is None
        one = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
        assert models.conv_compiler_options(cnn, one) == models.CONV_CPU_COMPILER_OPTIONS
    with pytest.raises(TypeError, match="mesh must be None or a jax.sharding.Mesh"):
        models.conv_compiler_options(cnn, "auto")
    graphdef, params = nnx.split(cnn, nnx.Param)
    x = jax.random.uniform(jax.random.key(0), (3, 28, 28, 1))

    def loss(p):
        return jnp.sum(nnx.merge(graphdef, p).logits(x) ** 2)

    ref = jax.jit(jax.grad(loss))(params)
    got = jax.jit(jax.grad(loss), compiler_options=opts)(params)
    # the whole graph (helpers: the terms on the longest path, the largest entry as scale):
    # forward the two convolutions and the Dense layer, backward Dense → pooled map, the second
    # convolution's input gradient and the sum over B·H·W of the first one's kernel gradient.
    # ≈ 7e-4 of the largest entry: the option must not change what is computed, and a missing
    # or wrong term moves entries by their own size.
    terms = (9 + 1) + (9 * 16 + 1) + (14 * 14 * 16 + 1) + 10 + 9 * 16 + 3 * 28 * 28
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True):
        assert_float32_close(a, b, reduction=terms)


@pytest.mark.parametrize("path", ["kernels", "onednn"])
def test_mnist_cnn_gradient_on_each_cpu_path(path, monkeypatch):
    """The book's CNN (ch. 14, 130 394 weights): its training gradient with the compiled CPU
    kernels (every convolution), or with them off (oneDNN for the second layer's forward pass and
    input gradient where available, else lax), equals JAX's gradient of the plain lax layers."""
    from deepmath_jax.kernels import build
    from deepmath_jax.kernels import onednn_convolution as oc

    if path == "onednn":
        monkeypatch.setenv(build.ENV_SWITCH, "0")
    fast = models.mnist_cnn(rngs=nnx.Rngs(0))
    plain = models.mnist_cnn(impl="xla", rngs=nnx.Rngs(0))
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.standard_normal((4, 28, 28, 1)).astype(np.float32))
    y = jnp.asarray([3, 1, 4, 1])

    def grad_fn(model):
        graphdef, params = nnx.split(model)

        def loss(params, x):
            logp = jax.nn.log_softmax(nnx.merge(graphdef, params).logits(x))
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        return jax.jit(jax.grad(loss)), params

    f, params = grad_fn(fast)
    hlo = f.lower(params, x).compile().as_text()
    count = {name: hlo.count(f'custom_call_target="{name}"') for name in (
        "deepmath_conv_layer", "deepmath_conv_weight_gradient",
        "deepmath_conv_weight_gradient_one_channel", "__onednn$convolution")}
    if path == "kernels" and build.available():
        # both forward passes, the second layer's input gradient (the first one's is unused: XLA
        # drops it) and both weight gradients
        assert list(count.values()) == [3, 1, 1, 0]
    else:
        assert list(count.values()) == [0, 0, 0, 2 if oc.available() else 0]
    g, plain_params = grad_fn(plain)
    # the whole graph (helpers: the terms on the longest path, the largest entry as scale):
    # forward the convolutions (9 + 1, 9·32 + 1), the Dense layer (28·28·16 + 1) and the
    # softmax (10); backward Dense → feature map (10), the second convolution's input gradient
    # (9·16) and the first one's kernel gradient, a sum over B·H·W = 4·28·28. The bound,
    # ≈ 2e-3 of the largest entry, is set by the Dense layer both paths share; it catches the
    # wiring (a wrong kernel, layout or bias moves entries by their own size), while the
    # kernels' own sums are held to their bounds in test_conv_layer_forward and
    # test_conv_weight_gradient.
    terms = (9 + 1) + (9 * 32 + 1) + (28 * 28 * 16 + 1) + 10 + 10 + 9 * 16 + 4 * 28 * 28
    for got, want in zip(jax.tree.leaves(f(params, x)), jax.tree.leaves(g(plain_params, x)),
                         strict=True):
        assert_float32_close(got, want, reduction=terms)



R = nnx.Rngs(0)

#: (builder with its bad argument, the message): each names the argument, the value received
#: (with its type when it is not an integer) and the allowed range.
BAD_ARGUMENTS = [
    # sizes: an integer ≥ 1 (and an odd kernel side: 'same' padding k//2 on both sides)
    (partial(models.Conv2D, 1, 4, 0, rngs=R), r"kernel_size must be an odd integer ≥ 1, got 0"),
    (partial(models.Conv2D, 1, 4, 2, rngs=R), r"kernel_size must be an odd integer ≥ 1, got 2"),
    (partial(models.Conv2D, 1, 4, -3, rngs=R), r"kernel_size must be an odd integer ≥ 1, got -3"),
    (partial(models.Conv2D, 1, 4, 3.0, rngs=R), r"kernel_size must be .*, got 3\.0 \(float\)"),
    (partial(models.Conv2D, 0, 4, rngs=R), r"in_channels must be an integer ≥ 1, got 0"),
    (partial(models.Conv2D, 1, 0, rngs=R), r"filters must be an integer ≥ 1, got 0"),
    (partial(models.Dense, 4, -1, rngs=R), r"units must be an integer ≥ 1, got -1"),
    (partial(models.Dense, 4, 0, rngs=R), r"units must be an integer ≥ 1, got 0"),
    (partial(models.Dense, 0, 3, rngs=R), r"in_features must be an integer ≥ 1, got 0"),
    (partial(models.Dense, 4, 2.5, rngs=R), r"units must be an integer ≥ 1, got 2\.5 \(float\)"),
    (partial(models.Dense, 4, True, rngs=R), r"units must be an integer ≥ 1, got True \(bool\)"),
    (partial(models.Dense, 4, "8", rngs=R), r"units must be an integer ≥ 1, got '8' \(str\)"),
    # names: the allowed ones are listed
    (partial(models.Conv2D, 1, 4, activation="swish", rngs=R), r"unknown activation 'swish': use one"),
    (partial(models.Conv2D, 1, 4, impl="fft", rngs=R), r"impl must be 'fast', 'xla' or 'im2col', got 'fft'"),
    (partial(models.Conv2D, 1, 4, init="he", rngs=R), r"init must be 'keras' or 'flax', got 'he'"),
    (partial(models.mnist_cnn, impl="fft", rngs=R), r"impl must be 'fast', 'xla' or 'im2col'"),
    # the dropout rate: a real number in [0, 1)
    (partial(models.Dropout, 1.0, rngs=R), r"rate must be a number in \[0, 1\), got 1\.0"),
    (partial(models.Dropout, -0.1, rngs=R), r"rate must be a number in \[0, 1\), got -0\.1"),
    (partial(models.Dropout, float("nan"), rngs=R), r"rate must be a number in \[0, 1\), got nan"),
    (partial(models.Dropout, "0.5", rngs=R), r"rate must be a number in \[0, 1\), got '0\.5' \(str\)"),
    # the builders name their own arguments
    (partial(models.mnist_dense, 2.5, rngs=R), r"p must be an integer ≥ 1, got 2\.5"),
    (partial(models.function_1d, 0, rngs=R), r"p must be an integer ≥ 1, got 0"),
    (partial(models.function_2d, -1, rngs=R), r"p must be an integer ≥ 1, got -1"),
    (partial(models.cifar_dense, 0, rngs=R), r"p must be an integer ≥ 1, got 0"),
    (partial(models.imdb_dense, 0, rngs=R), r"num_words must be an integer ≥ 1, got 0"),
    (partial(models.imdb_dense, 1000, 0, rngs=R), r"p must be an integer ≥ 1, got 0"),
    (partial(models.cats_dogs_cnn, size=4, rngs=R), r"size must be an integer ≥ 8 .*, got 4"),
    (partial(models.cifar_cnn, pooling="no", rngs=R), r"pooling must be True or False, got 'no'"),
    (partial(models.dense_network, (3, -2, 1), ("relu", "linear"), name="n", rngs=R),
     r"sizes\[1\] must be an integer ≥ 1, got -2"),
    (partial(models.Sequential, [models.Flatten()], input_shape=(0, 3), name="s"),
     r"input_shape\[0\] must be an integer ≥ 1, got 0"),
    (partial(models.Sequential, [models.Flatten(), "relu"], input_shape=(3,), name="s"),
     r"layers\[1\] must be an nnx.Module, got 'relu' \(str\)"),
    (partial(models.glorot_uniform, jax.random.key(0), (0, 3)), r"shape\[0\] must be an integer ≥ 1, got 0"),
]


def _call_id(build: partial) -> str:
    args = [repr(a) for a in build.args if not isinstance(a, jax.Array)]
    args += [f"{k}={v!r}" for k, v in build.keywords.items() if k != "rngs"]
    return f"{build.func.__name__}({', '.join(args)})"


@pytest.mark.parametrize(("build", "message"), BAD_ARGUMENTS, ids=[_call_id(b) for b, _ in BAD_ARGUMENTS])
def test_layer_and_builder_arguments_are_checked(build, message):
    # at construction, before any weight is drawn: not a ZeroDivisionError from the initialiser,
    # nor a JAX TypeError (or a silently empty layer) at the first call
    with pytest.raises(ValueError, match=message):
        build()


def test_valid_arguments_still_build():
    # the edges of the allowed ranges, and NumPy integers for the sizes
    assert models.count_params(models.Dense(np.int64(1), 1, rngs=R)) == 2
    assert models.Conv2D(1, 1, 1, rngs=R).kernel.shape == (1, 1, 1, 1)
    assert models.Conv2D(2, 3, 5, "linear", impl="im2col", rngs=R).kernel.shape == (5, 5, 2, 3)
    models.Dropout(0, rngs=R)
    models.Dropout(np.float32(0.99), rngs=R)
    assert models.cats_dogs_cnn(size=8, rngs=R).layers[-2].kernel.shape == (64, 32)
    assert models.count_params(models.cifar_cnn(pooling=np.bool_(False), rngs=R)) == 767_946
