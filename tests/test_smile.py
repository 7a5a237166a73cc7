"""The *formule du sourire* engine (chapter 7 §4): smile = backward recursion = jax.grad.

Inventory part 1 §15 items 6–9: the smile and half-smile formulas (item 6) and the backward
recursion (item 7) equal ``jax.grad`` on hypothesis-generated DAGs; E = (F − y₀)² gives
∂E/∂a = 2(F − y₀)∂F/∂a (item 8); the book's two networks (item 9). Bad networks are rejected
with a message naming the problem.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from deepmath_jax.autodiff.smile import (
    Edge,
    Network,
    Neuron,
    SmileUndefinedError,
    book_example_1,
    book_example_1_formulas,
    book_example_2,
    book_example_2_formulas,
    error_partials,
    forward,
    jax_partials,
    layered_network,
    max_difference,
    network_function,
    random_network,
    random_values,
    recursion_partials,
    smile_partials,
)

SMOOTH = ("identity", "square", "exp", "cos", "sin", "sigmoid", "tanh")
TOL = 1e-10  # relative to max(1, |value|), float64: the three computations differ by round-off only
dyadic = st.integers(-16, 16).map(lambda k: k / 16)  # exact zeros happen: they test g_* = 0


@st.composite
def networks(draw, activations=SMOOTH):
    """A random DAG (inputs, 0–3 hidden layers of width 1–3, one output neuron) with edges from
    the previous layer, skip edges from earlier layers, optional biases, and values."""
    n_in = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), max_size=3))
    layers = [[f"x{i}" for i in range(n_in)], *([f"h{k}_{i}" for i in range(w)] for k, w in enumerate(widths)), ["F"]]
    neurons, edges = [], []
    for k in range(1, len(layers)):
        earlier = [v for layer in layers[: k - 1] for v in layer]
        for g in layers[k]:
            neurons.append(Neuron(g, draw(st.sampled_from(activations)), f"b_{g}" if draw(st.booleans()) else None))
            sources = draw(st.lists(st.sampled_from(layers[k - 1]), min_size=1, unique=True))
            if earlier:
                sources += draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
            edges += [(s, g) for s in sources]
    for k in range(len(layers) - 1):
        later = [v for layer in layers[k + 1:] for v in layer]
        for v in layers[k]:
            if not any(s == v for s, _ in edges):
                edges.append((v, draw(st.sampled_from(later))))
    net = Network(layers[0], neurons, [Edge(s, t, f"w_{s}_{t}") for s, t in edges])
    inputs = {x: draw(dyadic) for x in net.inputs}
    params = {p: draw(dyadic) for p in net.params}
    return net, inputs, params


def _finite_forward(net, inputs, params):
    try:
        return forward(net, inputs, params)
    except ValueError:  # exp of exp overflowed: not a network worth comparing
        assume(False)


# --------------------------------------------------------------------------------------------
# Item 9: the book's two networks
# --------------------------------------------------------------------------------------------


def test_book_example_1_three_ways(x64):
    """F(x, a, b, c) = ln(c(ax + b)²) at (2, 3, 4, 5): F = ln 500 (L4061), ∂F/∂c = 1/5 (L4026),
    ∂F/∂a = 2/5 (L4037), ∂F/∂b = 1/5 (L4048), ∂F/∂x = 3/5 (L4059)."""
    net = book_example_1()
    inputs, params = {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0}
    fw = forward(net, inputs, params)
    assert float(fw.out["square"]) == 100 and float(fw.slope["square"]) == 20  # 100 and [2u] = 20
    assert float(fw.pre["ln"]) == 500 and float(fw.slope["ln"]) == pytest.approx(1 / 500, rel=1e-15)
    expected = {"a": 2 / 5, "b": 1 / 5, "c": 1 / 5, "x": 3 / 5}
    for method in (smile_partials, recursion_partials, jax_partials):
        p = method(net, inputs, params)
        assert float(p.value) == pytest.approx(math.log(500), rel=1e-15)
        for k, v in expected.items():
            assert p.as_dict()[k] == pytest.approx(v, rel=1e-14), (p.method, k)
    formulas = book_example_1_formulas(2.0, 3.0, 4.0, 5.0)  # ∂F/∂a = 2x/(ax + b) = 4/10 (L4076)
    assert formulas["a"] == pytest.approx(2 / 5, rel=1e-15)


def test_book_example_1_steps_follow_the_book(x64):
    """The smile engine applies the book's formulas in the book's order with its factors:
    100 × 1/500 (L4026), 2 × 20/100 × 5 × {{1/5}} (L4030), 1 × 20/100 × 5 × {{1/5}} (L4041),
    1 × 1/2 × 3 × {{2/5}} (L4053)."""
    p = smile_partials(book_example_1(), {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0})
    steps = {s.variable: s for s in p.steps}
    assert [s.variable for s in p.steps] == ["c", "a", "b", "x"]
    assert steps["c"].kind == "half-smile" and steps["c"].terms == ((100.0, pytest.approx(1 / 500)),)
    assert steps["a"].kind == "input edge" and steps["a"].terms[0] == pytest.approx((2, 20, 100, 5, 1 / 5))
    assert steps["b"].kind == "bias" and steps["b"].terms[0] == pytest.approx((1, 20, 100, 5, 1 / 5))
    assert steps["x"].kind == "input variable" and steps["x"].terms[0] == pytest.approx((1, 1, 2, 3, 2 / 5))
    assert "2 × 20/100 × 5 × {{0.2}} = 0.4" in str(steps["a"])
    assert p.fallbacks == ()


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
def test_book_example_2_symbolic(x, a, b, c, d):
    """exp(c cos(ax) + d sin(bx)): the three ways equal the book's symbolic derivatives
    ∂F/∂c = cos u e^w, ∂F/∂d = sin v e^w, ∂F/∂a = −xc sin u e^w, ∂F/∂b = xd cos v e^w,
    ∂F/∂x = (−ac sin u + bd cos v) e^w (L4092–4127). Where cos(ax), sin(bx) or x is 0 the smile
    formula is undefined: it says so, and its explicit fallback still agrees."""
    with jax.enable_x64(True):
        net = book_example_2()
        inputs, params = {"x": x}, {"a": a, "b": b, "c": c, "d": d}
        book = book_example_2_formulas(x, a, b, c, d)
        for p in (smile_partials(net, inputs, params, fallback=True), recursion_partials(net, inputs, params),
                  jax_partials(net, inputs, params)):
            assert float(p.value) == pytest.approx(book["F"], rel=1e-13)
            for k in "abcdx":
                assert p.as_dict()[k] == pytest.approx(book[k], rel=1e-11, abs=1e-11 * book["F"]), (p.method, k)


# --------------------------------------------------------------------------------------------
# Items 6 and 7: smile = recursion = jax.grad on random DAGs
# --------------------------------------------------------------------------------------------


@given(networks())
def test_smile_recursion_and_jax_grad_agree_on_random_dags(case):
    net, inputs, params = case
    with jax.enable_x64(True):
        fw = _finite_forward(net, inputs, params)
        c = jax_partials(net, inputs, params)
        b = recursion_partials(net, inputs, params)
        a = smile_partials(net, inputs, params, fallback=True)
        assert max_difference(b, c) <= TOL
        assert max_difference(a, c) <= TOL
        # the fallback is used exactly where the smile formula divides by zero (L3994)
        zero = {g for g in net.order if g != net.output and float(fw.out[g]) == 0}
        zero |= {x for x in net.inputs if float(fw.out[x]) == 0 and net.outgoing[x]}
        assert set(a.fallbacks) == zero
        event(f"{len(net.neurons)} neurons; smile {'needs the fallback' if zero else 'defined everywhere'}")
        if zero:
            with pytest.raises(SmileUndefinedError, match="formule du sourire undefined"):
                smile_partials(net, inputs, params)
        else:
            pure = smile_partials(net, inputs, params)
            assert all(s.kind != "recursion (4)" for s in pure.steps)
            assert max_difference(pure, c) <= TOL


@settings(max_examples=25)
@given(networks(activations=("relu", "sigmoid", "identity", "tanh")))
def test_relu_networks_need_the_recursion(case):
    """ReLU outputs 0 on a whole half-line: the smile formula is undefined there (g_* = 0) and
    the recursion (4)–(6) covers it (L4178). Pre-activations exactly 0 are excluded: ReLU has no
    derivative there (the book's H(0) = 1 against jax.grad's 0)."""
    net, inputs, params = case
    with jax.enable_x64(True):
        fw = _finite_forward(net, inputs, params)
        assume(all(float(fw.pre[g]) != 0 for g in net.order if net.neurons[g].activation == "relu"))
        c = jax_partials(net, inputs, params)
        assert max_difference(recursion_partials(net, inputs, params), c) <= TOL
        assert max_difference(smile_partials(net, inputs, params, fallback=True), c) <= TOL


def test_chain_recursion_matches_the_book_algorithm(x64):
    """On a chain x → g₁ → … → gₙ the recursion is the book's algorithm (L4176–4193):
    ∂F/∂gₙ = 1, ∂F/∂gᵢ = ∂F/∂gᵢ₊₁ · aᵢ₊₁ · g'ᵢ₊₁,*, ∂F/∂aᵢ = ∂F/∂gᵢ · gᵢ₋₁,* · g'ᵢ,*."""
    acts = ["sin", "tanh", "exp", "cos", "sigmoid"]
    names = [f"g{i}" for i in range(1, 6)]
    net = Network(["x"], [Neuron(g, a) for g, a in zip(names, acts, strict=True)],
                  [Edge(s, t, f"a{i}") for i, (s, t) in enumerate(zip(["x", *names[:-1]], names, strict=True), start=1)])
    a = {f"a{i}": 0.3 * i - 0.7 for i in range(1, 6)}
    p = recursion_partials(net, {"x": 0.9}, a)
    fw = forward(net, {"x": 0.9}, a)
    d = {"g5": 1.0}
    for i in range(4, 0, -1):
        d[f"g{i}"] = d[f"g{i + 1}"] * a[f"a{i + 1}"] * float(fw.slope[f"g{i + 1}"])
    outs = [0.9, *(float(fw.out[g]) for g in names)]
    for i in range(1, 6):
        assert float(p.sensitivities[f"g{i}"]) == pytest.approx(d[f"g{i}"], rel=1e-14)
        book = d[f"g{i}"] * outs[i - 1] * float(fw.slope[f"g{i}"])
        assert float(p.params[f"a{i}"]) == pytest.approx(book, rel=1e-14)
    assert max_difference(p, jax_partials(net, {"x": 0.9}, a)) <= TOL


def test_zero_output_neuron_raises_or_falls_back(x64):
    """g_* = sin(0) = 0 on a hidden neuron: the smile formula raises, naming the neuron and the
    variables; fallback=True uses (4) there and says so; the recursion needs no care."""
    net = Network(["x"], [Neuron("g", "sin", "bias"), Neuron("h", "exp")], [Edge("x", "g", "a"), Edge("g", "h", "b")])
    inputs, params = {"x": 1.5}, {"a": 2.0, "bias": -3.0, "b": 0.7}
    with pytest.raises(SmileUndefinedError, match=r"∂F/∂a, ∂F/∂bias: g_\* = sin\(pre-activation\) = 0 at 'g'"):
        smile_partials(net, inputs, params)
    p = smile_partials(net, inputs, params, fallback=True)
    assert p.fallbacks == ("g",)
    assert [s.kind for s in p.steps[:3]] == ["half-smile", "recursion (4)", "recursion (4)"]
    c = jax_partials(net, inputs, params)
    assert max_difference(p, c) <= TOL and max_difference(recursion_partials(net, inputs, params), c) <= TOL
    assert float(c.params["a"]) == pytest.approx(1.5 * 0.7, rel=1e-14)  # ∂F/∂a = x·cos 0·b·e^0
    with pytest.raises(SmileUndefinedError, match="the input x = 0"):
        smile_partials(net, {"x": 0.0}, {"a": 2.0, "bias": 1.0, "b": 0.7})


def test_random_network_generator_is_deterministic_and_valid(x64):
    n1, n2 = random_network(jax.random.key(3)), random_network(jax.random.key(3))
    assert n1.describe() == n2.describe() and n1.output == "F"
    x, p = random_values(jax.random.key(4), n1)
    assert max_difference(smile_partials(n1, x, p, fallback=True), jax_partials(n1, x, p)) <= TOL
    nets = [random_network(jax.random.key(k), n_inputs=3, widths=(4, 3, 3)) for k in range(8)]
    assert any(n.depth[e.target] - n.depth[e.source] > 1 for n in nets for e in n.edges)  # skip edges
    for k, n in enumerate(nets):  # larger DAGs than the hypothesis examples
        x, p = random_values(jax.random.key(100 + k), n)
        c = jax_partials(n, x, p)
        assert max_difference(smile_partials(n, x, p), c) <= TOL
        assert max_difference(recursion_partials(n, x, p), c) <= TOL
    net = layered_network(2, [3, 2, 1], ["tanh", "sin", "identity"], skip=[("x1", "l3n1")])
    assert len(net.params) == (2 * 3 + 3) + (3 * 2 + 2) + (2 + 1) + 1
    assert net.depth["l3n1"] == 3


# --------------------------------------------------------------------------------------------
# Item 8: the error chain
# --------------------------------------------------------------------------------------------


@settings(max_examples=20)
@given(networks(), dyadic)
def test_error_chain(case, y0):
    """E = (F − y₀)²: ∂E/∂aⱼ = 2 ∂F/∂aⱼ (F − y₀) (L3922) equals jax.grad of E."""
    net, inputs, params = case
    with jax.enable_x64(True):
        _finite_forward(net, inputs, params)
        E, grads = error_partials(recursion_partials(net, inputs, params), y0)
        F = network_function(net)
        gp, gx = jax.grad(lambda p, x: (F(x, p) - y0) ** 2, argnums=(0, 1))(
            {k: jnp.asarray(v, float) for k, v in params.items()}, {k: jnp.asarray(v, float) for k, v in inputs.items()})
        assert float(E) == pytest.approx(float((F(inputs, params) - y0) ** 2), rel=1e-14, abs=1e-300)
        for k, v in {**gp, **gx}.items():
            assert float(grads[k]) == pytest.approx(float(v), rel=1e-10, abs=1e-10 * (1 + abs(float(E))))


def test_error_chain_book_example(x64):
    p = smile_partials(book_example_1(), {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0})
    E, g = error_partials(p, 6.0)
    d = math.log(500) - 6
    assert float(E) == pytest.approx(d * d, rel=1e-14)
    assert float(g["a"]) == pytest.approx(2 * 0.4 * d, rel=1e-13)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_bad_networks_are_rejected():
    ok_neurons = [Neuron("g", "sin"), Neuron("F", "exp")]
    with pytest.raises(ValueError, match=r"cycle: g → h → g|cycle: h → g → h"):
        Network(["x"], [Neuron("g", "sin"), Neuron("h", "cos"), Neuron("F", "exp")],
                [("x", "g", "a"), ("h", "g", "b"), ("g", "h", "c"), ("g", "F", "d")], output="F")
    with pytest.raises(ValueError, match=r"cycle: g → g"):
        Network(["x"], ok_neurons, [("x", "g", "a"), ("g", "g", "b"), ("g", "F", "c")])
    with pytest.raises(ValueError, match=r"edge 'b' \(z → F\): its source 'z' is neither an input nor a neuron \(dangling edge\)"):
        Network(["x"], ok_neurons, [("x", "g", "a"), ("z", "F", "b"), ("g", "F", "c")])
    with pytest.raises(ValueError, match=r"target 'k' is not a neuron \(dangling edge\)"):
        Network(["x"], ok_neurons, [("x", "g", "a"), ("g", "k", "b"), ("g", "F", "c")])
    with pytest.raises(ValueError, match="cannot enter the input 'x'"):
        Network(["x"], ok_neurons, [("x", "g", "a"), ("g", "x", "b"), ("g", "F", "c")])
    with pytest.raises(ValueError, match=r"neuron 'g': unknown activation 'softplus'; known activations: .*sigmoid"):
        Network(["x"], [Neuron("g", "softplus"), Neuron("F", "exp")], [("x", "g", "a"), ("g", "F", "b")])
    with pytest.raises(ValueError, match="neuron 'k' does not lead to the output 'F'"):
        Network(["x"], [*ok_neurons, Neuron("k", "cos")], [("x", "g", "a"), ("g", "F", "b"), ("x", "k", "c")], output="F")
    with pytest.raises(ValueError, match=r"neurons without outgoing edge are \['F', 'k'\]|\['k', 'F'\]"):
        Network(["x"], [*ok_neurons, Neuron("k", "cos")], [("x", "g", "a"), ("g", "F", "b"), ("x", "k", "c")])
    with pytest.raises(ValueError, match="weight name 'a' is already used"):
        Network(["x"], ok_neurons, [("x", "g", "a"), ("g", "F", "a")])
    with pytest.raises(ValueError, match="neuron 'g' has no incoming edge"):
        Network(["x"], [Neuron("g", "sin", "b0"), Neuron("F", "exp")], [("g", "F", "a"), ("x", "F", "c")])
    with pytest.raises(ValueError, match="'x' is used twice"):
        Network(["x"], [Neuron("x", "sin")], [("x", "x", "a")])
    with pytest.raises(ValueError, match="output neuron 'g' has outgoing edges"):
        Network(["x"], ok_neurons, [("x", "g", "a"), ("g", "F", "b")], output="g")


def test_bad_values_are_rejected(x64):
    net = book_example_1()
    with pytest.raises(ValueError, match=r"missing values for \['c'\]"):
        smile_partials(net, {"x": 2.0}, {"a": 3.0, "b": 4.0})
    with pytest.raises(ValueError, match=r"unknown inputs \['y'\]"):
        recursion_partials(net, {"x": 2.0, "y": 1.0}, {"a": 3.0, "b": 4.0, "c": 5.0})
    with pytest.raises(ValueError, match="must be a scalar"):
        jax_partials(net, {"x": jnp.ones(3)}, {"a": 3.0, "b": 4.0, "c": 5.0})
    with pytest.raises(ValueError, match=r"neuron 'ln' \(ln, domain u > 0\): pre-activation -500.0 .* not finite"):
        forward(net, {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": -5.0})
    with pytest.raises(ValueError, match="different variables"):
        max_difference(smile_partials(net, {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0}),
                       jax_partials(book_example_2(), {"x": 1.0}, dict(a=1.0, b=1.0, c=1.0, d=1.0)))
    with pytest.raises(ValueError, match="last layer must have one neuron"):
        layered_network(2, [3, 2], "tanh")


@pytest.mark.parametrize(
    ("value", "type_name"), [("2.0", "str"), (b"2", "bytes"), (None, "NoneType"), (1j, "complex")]
)
def test_non_numeric_values_are_a_type_error_naming_the_variable(value, type_name):
    # inputs and parameters are converted in one place (the check of every engine's values):
    # a string, None or a complex number names the variable and the value's type
    net = book_example_1()
    good_x, good_p = {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0}
    for fn in (smile_partials, recursion_partials, jax_partials, forward):
        with pytest.raises(TypeError, match=rf"input 'x' must be a real number, got {type_name}"):
            fn(net, {"x": value}, good_p)
        with pytest.raises(TypeError, match=rf"parameter 'b' must be a real number, got {type_name}"):
            fn(net, good_x, {**good_p, "b": value})
    with pytest.raises(TypeError, match=rf"y0 must be a real number, got {type_name}"):
        error_partials(jax_partials(net, good_x, good_p), value)
