"""The book's automatic differentiation on a computation graph (chapter 1 §2, L460–700), and
its nodes of two variables (chapter 7 §3, L3727–3899: ln(x²y + sin y) at (3, 2), √(exp t sin t)
at 1, three outgoing edges, three paths).

Identities of inventory §15: 2 (chain rule, sequential derivatives), 3 (reverse sweep, its n
multiplications vs n(n+1)/2), 4 (fan-out: sum over paths), 5 (⊕/⊗ local derivatives), and
1 via random expressions: the engine (paths and reverse sweep) equals ``jax.grad``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from deepmath_jax.autodiff.graph import (
    ADD,
    DIV,
    MUL,
    OPS,
    SUB,
    Graph,
    Op,
    binary,
    chain,
    derivatives_by_paths,
    gradient,
    ln_x2y_plus_sin_y,
    path_terms,
    power,
    reverse_sweep,
    scale,
    sqrt_exp_times_sin,
    t2_ln_t_ln_ln_t,
    t_plus_ln2_plus_inv_sin,
    unary,
)
from deepmath_jax.autodiff.graph_drawing import draw_graph, layout

# --------------------------------------------------------------------------------------------
# The book's examples
# --------------------------------------------------------------------------------------------


def test_book_graph_sqrt_xy_plus_z2(x64):
    g = Graph()
    x, y, z = g.inputs("x", "y", "z")
    F = g.apply("sqrt", x * y + g.apply("square", z))
    ev = g.forward({"x": 2.0, "y": 8.0, "z": 3.0})
    assert float(ev[F]) == 5.0  # L497
    expected = jax.grad(lambda a, b, c: jnp.sqrt(a * b + c**2), argnums=(0, 1, 2))(2.0, 8.0, 3.0)
    rev, paths = reverse_sweep(ev, F), derivatives_by_paths(ev, F, [x, y, z])
    for v, e in zip((x, y, z), expected, strict=True):
        np.testing.assert_allclose(rev[v], e, rtol=1e-15)
        np.testing.assert_allclose(paths[v], e, rtol=1e-15)


@pytest.mark.parametrize(("x0", "expected"), [(3.0, -12 * math.sin(18)), (4.0, -16 * math.sin(32))])
def test_book_cos_2x2(x64, x0, expected):
    g, x, F = chain(unary("2x²", lambda t: 2 * t**2, lambda t: 4 * t), "cos")
    ev = g.forward({"x": x0})
    assert float(ev.local["x1", 0]) == 4 * x0  # [12] and [16]
    (term,) = path_terms(ev, F, x)
    # The product right to left: {{1}} × [−sin(2x₀²)] × [4x₀] (L564).
    np.testing.assert_allclose(term.factors, [-math.sin(2 * x0**2), 4 * x0], rtol=1e-15)
    np.testing.assert_allclose(term.product, expected, rtol=1e-14)
    np.testing.assert_allclose(reverse_sweep(ev, F)[x], jax.grad(lambda t: jnp.cos(2 * t**2))(x0), rtol=1e-14)


def test_book_h_g_f_at_e_and_sequential_derivatives(x64):
    g, x, F = chain("ln", unary("y³+1", lambda t: t**3 + 1, lambda t: 3 * t**2), "exp")
    ev = g.forward({"x": math.e})
    np.testing.assert_allclose([ev["x1"], ev["x2"], ev["x3"]], [1, 2, math.e**2], rtol=1e-15)
    rev = reverse_sweep(ev, F)
    # {{1}}, {{t'}}, {{t'z'}}, {{t'z'y'}} (L690) = 1, e², 3e², 3e
    np.testing.assert_allclose([rev[n] for n in ("x3", "x2", "x1", "x")], [1, math.e**2, 3 * math.e**2, 3 * math.e],
                               rtol=1e-14)
    assert rev.multiplications == 3
    assert derivatives_by_paths(ev, F).multiplications == 6
    np.testing.assert_allclose(rev[x], jax.grad(g.as_function(F))(math.e), rtol=1e-14)


def test_book_exp_times_ln_at_2_two_paths(x64):
    g = Graph()
    x = g.input("x")
    F = g.apply("exp", x) * g.apply("ln", x)
    ev = g.forward({"x": 2.0})
    terms = path_terms(ev, F, x)
    np.testing.assert_allclose(sorted(float(t.product) for t in terms),
                               sorted([math.log(2) * math.exp(2), 0.5 * math.exp(2)]), rtol=1e-15)
    expected = (math.log(2) + 0.5) * math.exp(2)
    np.testing.assert_allclose(reverse_sweep(ev, F)[x], expected, rtol=1e-15)
    np.testing.assert_allclose(jax.grad(lambda t: jnp.exp(t) * jnp.log(t))(2.0), expected, rtol=1e-15)


# --------------------------------------------------------------------------------------------
# ⊕, ⊗ and every registered operation (§15 item 5)
# --------------------------------------------------------------------------------------------


@given(st.floats(-50, 50), st.floats(-50, 50))
def test_add_mul_local_derivatives(a, b):
    g = Graph()
    x, y = g.inputs("x", "y")
    s, p = x + y, x * y
    ev = g.forward({"x": a, "y": b})
    assert float(ev.local[s.name, 0]) == 1 and float(ev.local[s.name, 1]) == 1
    # the swapped inputs [y₀], [x₀]
    assert float(ev.local[p.name, 0]) == np.float32(b) and float(ev.local[p.name, 1]) == np.float32(a)


POINTS = {"ln": 0.7, "sqrt": 0.7, "inv": -0.6, "tan": 0.4}


@pytest.mark.parametrize("name", sorted(OPS))
def test_registered_partials_equal_jax_grad(x64, name):
    op = OPS[name]
    args = [POINTS.get(name, 0.6), -0.35][: op.arity]
    for i, partial in enumerate(op.partials):
        if name in ("heaviside", "relu"):
            continue  # derivative 0 / H away from 0, checked in test_activations
        np.testing.assert_allclose(partial(*args), jax.grad(op.fn, argnums=i)(*args), rtol=1e-13)


def test_two_variable_node_is_one_line(x64):
    """Chapter 7 adds nodes of two variables: an Op with two partials, used like ⊕."""
    f = Op("ln(x²y + sin y)", lambda x, y: jnp.log(x**2 * y + jnp.sin(y)),
           (lambda x, y: 2 * x * y / (x**2 * y + jnp.sin(y)), lambda x, y: (x**2 + jnp.cos(y)) / (x**2 * y + jnp.sin(y))),
           domain=lambda x, y: x**2 * y + jnp.sin(y) > 0, domain_text="x²y + sin y > 0")
    g = Graph()
    x, y = g.inputs("x", "y")
    F = g.apply(f, g.apply("square", x), y)  # fan-in of a function of two variables
    ev = g.forward({"x": 1.3, "y": 0.8})
    expected = jax.grad(lambda a, b: jnp.log(a**4 * b + jnp.sin(b)), argnums=(0, 1))(1.3, 0.8)
    np.testing.assert_allclose([reverse_sweep(ev, F)[x], reverse_sweep(ev, F)[y]], expected, rtol=1e-14)
    with pytest.raises(ValueError, match=r"outside its domain \(x²y \+ sin y > 0\)"):
        g.forward({"x": 1.0, "y": -2.0})


# --------------------------------------------------------------------------------------------
# Chapter 7 §3: nodes of two variables (L3727–3899)
# --------------------------------------------------------------------------------------------


def test_book_ln_x2y_plus_sin_y_at_3_2(x64):
    """L3797–3813: z₀ = 18 + sin 2, [12], [9 + cos 2], [1/(18 + sin 2)], grad F(3, 2)."""
    g, x, y, F = ln_x2y_plus_sin_y()
    ev = g.forward({"x": 3.0, "y": 2.0})
    z0 = 18 + math.sin(2)
    np.testing.assert_allclose([ev["z"], ev[F]], [z0, math.log(z0)], rtol=1e-15)
    assert float(ev.local["z", 0]) == 12.0
    np.testing.assert_allclose([ev.local["z", 1], ev.local["F", 0]], [9 + math.cos(2), 1 / z0], rtol=1e-15)
    book = [12 / z0, (9 + math.cos(2)) / z0]
    # one path per input: [1/z₀] × [2x₀y₀] and [1/z₀] × [x₀² + cos y₀]
    (px,), (py,) = path_terms(ev, F, x), path_terms(ev, F, y)
    assert px.nodes == ("F", "z", "x") and py.nodes == ("F", "z", "y")
    np.testing.assert_allclose([px.product, py.product], book, rtol=1e-15)
    np.testing.assert_allclose(gradient(ev, F), book, rtol=1e-15)
    np.testing.assert_allclose(jax.grad(g.as_function(F), argnums=(0, 1))(3.0, 2.0), book, rtol=1e-15)
    np.testing.assert_allclose(jax.grad(lambda a, b: jnp.log(a**2 * b + jnp.sin(b)), argnums=(0, 1))(3.0, 2.0),
                               book, rtol=1e-15)


@given(st.floats(-3, 3), st.floats(0.05, 3))
def test_ln_x2y_plus_sin_y_general_formulas(x0, y0):
    """∂F/∂x = 2x₀y₀/z₀ and ∂F/∂y = (x₀² + cos y₀)/z₀ (L3789–3792) = jax.grad, wherever z₀ > 0
    (y₀ ∈ ]0, 3] gives x₀²y₀ + sin y₀ > 0)."""
    with jax.enable_x64(True):
        g, x, y, F = ln_x2y_plus_sin_y()
        ev = g.forward({"x": x0, "y": y0})
        z0 = x0**2 * y0 + math.sin(y0)
        formula = [2 * x0 * y0 / z0, (x0**2 + math.cos(y0)) / z0]
        np.testing.assert_allclose(gradient(ev, F, [x, y]), formula, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(jax.grad(g.as_function(F), argnums=(0, 1))(x0, y0), formula, rtol=1e-12, atol=1e-14)


def test_ln_x2y_plus_sin_y_outside_its_domain_is_named():
    g, *_ = ln_x2y_plus_sin_y()
    with pytest.raises(ValueError, match=r"node 'F' = ln\(z\) is evaluated outside its domain \(x > 0\).*'z': -"):
        g.forward({"x": 0.5, "y": -2.0})


def test_book_sqrt_exp_sin_at_1(x64):
    """L3870–3881: the two path products [1/(2√z₀)]·[sin 1]·[e] and [1/(2√z₀)]·[e]·[cos 1], and
    F'(1) = e(sin 1 + cos 1)/(2√(e sin 1))."""
    g, t, F = sqrt_exp_times_sin()
    ev = g.forward({"t": 1.0})
    e, s, c = math.e, math.sin(1), math.cos(1)
    np.testing.assert_allclose([ev["x"], ev["y"], ev["z"], ev[F]], [e, s, e * s, math.sqrt(e * s)], rtol=1e-15)
    half = 1 / (2 * math.sqrt(e * s))
    terms = {term.nodes: term for term in path_terms(ev, F, t)}
    assert set(terms) == {("F", "z", "x", "t"), ("F", "z", "y", "t")}
    np.testing.assert_allclose(terms["F", "z", "x", "t"].factors, [half, s, e], rtol=1e-15)
    np.testing.assert_allclose(terms["F", "z", "y", "t"].factors, [half, e, c], rtol=1e-15)
    book = e * (s + c) / (2 * math.sqrt(e * s))
    np.testing.assert_allclose(sum(float(term.product) for term in terms.values()), book, rtol=1e-15)
    np.testing.assert_allclose(reverse_sweep(ev, F)[t], book, rtol=1e-15)
    np.testing.assert_allclose(jax.grad(lambda u: jnp.sqrt(jnp.exp(u) * jnp.sin(u)))(1.0), book, rtol=1e-15)


def test_sqrt_exp_sin_general_formula_on_an_array(x64):
    """F'(t₀) = exp t₀ (sin t₀ + cos t₀)/(2√(exp t₀ sin t₀)) (L3868) at many points at once."""
    g, t, F = sqrt_exp_times_sin()
    ts = jnp.linspace(0.05, 3.0, 64)
    formula = jnp.exp(ts) * (jnp.sin(ts) + jnp.cos(ts)) / (2 * jnp.sqrt(jnp.exp(ts) * jnp.sin(ts)))
    np.testing.assert_allclose(reverse_sweep(g.forward({"t": ts}), F)[t], formula, rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(jax.grad(g.as_function(F)))(ts), formula, rtol=1e-12)


@given(st.floats(0.1, 3.0))
def test_three_outgoing_edges_and_three_paths(t0):
    """F = t + (ln t)² + 1/sin t: t has 3 outgoing edges, F' = 1 + 2 ln t/t − cos t/sin² t (L3888);
    F = t² ln t ln(ln t): 3 paths from F to t (L3890–3899), their sum = jax.grad."""
    with jax.enable_x64(True):
        g, t, F = t_plus_ln2_plus_inv_sin()
        assert sum(t.name in n.inputs for n in g.nodes.values()) == 3
        ev = g.forward({"t": t0})
        expected = 1 + 2 * math.log(t0) / t0 - math.cos(t0) / math.sin(t0) ** 2
        np.testing.assert_allclose(reverse_sweep(ev, F)[t], expected, rtol=1e-11)
        np.testing.assert_allclose(derivatives_by_paths(ev, F, [t])[t], expected, rtol=1e-11)
        assert len(path_terms(ev, F, t)) == 3
        g4, t4, F4 = t2_ln_t_ln_ln_t()
        s0 = 1.05 + t0  # t > 1: ln(ln t) is defined
        ev4 = g4.forward({"t": s0})
        terms = path_terms(ev4, F4, t4)
        assert len(terms) == 3
        y0 = math.log(s0)
        closed = 2 * s0 * y0 * math.log(y0) + s0 * math.log(y0) + s0
        np.testing.assert_allclose(sum(float(p.product) for p in terms), closed, rtol=1e-11)
        np.testing.assert_allclose(jax.grad(g4.as_function(F4))(s0), closed, rtol=1e-11)
    with pytest.raises(ValueError, match=r"node 'ln y' = ln\(y\) is evaluated outside its domain"):
        g4.forward({"t": 0.5})


@given(st.floats(-3, 3, allow_subnormal=False), st.floats(-3, 3).filter(lambda v: abs(v) > 0.1))
def test_binary_nodes_sub_div_and_operators(a, b):  # (XLA flushes subnormal numbers to 0)
    """binary(): a node of two variables with its two partials; ⊖ and ⊘ ([1], [−1]; [1/y], [−x/y²])."""
    with jax.enable_x64(True):
        g = Graph()
        x, y = g.inputs("x", "y")
        d, q = x - y, x / y
        F = g.apply(binary("x·e^y", lambda u, v: u * jnp.exp(v), lambda u, v: jnp.exp(v), lambda u, v: u * jnp.exp(v)),
                    d, 2.0 - q)
        assert g.op(d) is SUB and g.op(q) is DIV and g.op(F).arity == 2
        ev = g.forward({"x": a, "y": b})
        np.testing.assert_allclose([ev.local[q.name, 0], ev.local[q.name, 1]], [1 / b, -a / b**2], rtol=1e-14)
        assert float(ev.local[d.name, 0]) == 1 and float(ev.local[d.name, 1]) == -1
        expected = jax.grad(lambda u, v: (u - v) * jnp.exp(2 - u / v), argnums=(0, 1))(a, b)
        np.testing.assert_allclose(gradient(ev, F), expected, rtol=1e-11, atol=1e-12)


def test_gradient_of_an_unused_input_is_zero_and_div_by_zero_is_named(x64):
    g = Graph()
    x, y, _ = g.inputs("x", "y", "w")
    F = x / y
    np.testing.assert_allclose(gradient(g.forward({"x": 3.0, "y": 2.0, "w": 7.0}), F), [0.5, -0.75, 0.0])
    with pytest.raises(ValueError, match=r"outside its domain \(y ≠ 0\)"):
        g.forward({"x": 3.0, "y": 0.0, "w": 1.0})


def test_draw_graph_places_nodes_by_hand():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g, t, F = sqrt_exp_times_sin()
    ev = g.forward({"t": 1.0})
    fig, ax = plt.subplots()
    draw_graph(ax, ev, reverse_sweep(ev, F), pos={"y": (1.0, -2.0)})
    texts = {txt.get_text(): txt.get_position() for txt in ax.texts}
    assert texts[f"y = {float(ev['y']):.4g}"] == pytest.approx((1.0, -2.0 + 0.14))
    assert any(k.startswith("{{") for k in texts)
    plt.close(fig)


def test_power_and_scale(x64):
    g, x, F = chain(power(3), scale(-2.0), power(0.5))
    with pytest.raises(ValueError, match="outside its domain"):  # √ of −2x³ < 0
        g.forward({"x": 1.0})
    ev = g.forward({"x": -1.5})
    np.testing.assert_allclose(reverse_sweep(ev, F)[x], jax.grad(lambda t: jnp.sqrt(-2 * t**3))(-1.5), rtol=1e-14)


def test_values_can_be_arrays(x64):
    g = Graph()
    x = g.input("x")
    F = g.apply("sin", x * x)
    xs = jnp.linspace(-2, 2, 9)
    d = reverse_sweep(g.forward({"x": xs}), F)[x]
    np.testing.assert_allclose(d, jax.vmap(jax.grad(lambda t: jnp.sin(t * t)))(xs), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Chains: chain rule, sequential derivatives, multiplication counts (§15 items 2, 3)
# --------------------------------------------------------------------------------------------

SMOOTH = ["sin", "cos", "tanh", "sigmoid", "square", "identity", "neg"]
JNP = {"sin": jnp.sin, "cos": jnp.cos, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "square": jnp.square,
       "identity": lambda t: t, "neg": jnp.negative, "exp": jnp.exp, "ln": jnp.log, "sqrt": jnp.sqrt}


@given(st.lists(st.sampled_from(SMOOTH), min_size=1, max_size=12), st.floats(-2, 2))
def test_chain_sequential_derivatives_equal_jax_grad(names, x0):
    with jax.enable_x64(True):
        g, x, F = chain(*names)
        ev = g.forward({"x": x0})
        rev, paths = reverse_sweep(ev, F), derivatives_by_paths(ev, F)
        n = len(names)
        assert rev.multiplications == n
        assert paths.multiplications == n * (n + 1) // 2
        for i in range(n + 1):  # {{dF/dxᵢ}} = derivative of xᵢ ↦ fₙ∘…∘fᵢ₊₁(xᵢ)
            node = "x" if i == 0 else f"x{i}"

            def tail(t, i=i):
                for name in names[i:]:
                    t = JNP[name](t)
                return t

            expected = jax.grad(tail)(ev[node])
            np.testing.assert_allclose(rev[node], expected, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(paths[node], expected, rtol=1e-12, atol=1e-14)
        # the chain rule's product does not depend on the multiplication order (L564)
        (term,) = path_terms(ev, F, x)
        left_to_right = np.prod(np.asarray(term.factors[::-1]))
        np.testing.assert_allclose(term.product, left_to_right, rtol=1e-12, atol=1e-300)


# --------------------------------------------------------------------------------------------
# Random expressions with fan-out: engine = jax.grad (§15 items 1, 4)
# --------------------------------------------------------------------------------------------

leaves = st.one_of(st.sampled_from(["x", "y"]), st.floats(0.5, 2.0).map(lambda c: ("const", c)))
expressions = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.tuples(st.sampled_from(sorted(JNP)), kids),
        st.tuples(st.sampled_from(["add", "mul"]), kids, kids),
    ),
    max_leaves=8,
)


def build(g: Graph, e, inputs):
    if isinstance(e, str):
        return inputs[e]
    if e[0] == "const":
        return g.constant(e[1])
    return g.apply(e[0], *(build(g, k, inputs) for k in e[1:]))


def evaluate(e, env):
    if isinstance(e, str):
        return env[e]
    if e[0] == "const":
        return e[1]
    args = [evaluate(k, env) for k in e[1:]]
    if e[0] == "add":
        return args[0] + args[1]
    if e[0] == "mul":
        return args[0] * args[1]
    return JNP[e[0]](args[0])


@given(expressions, st.floats(0.3, 2.0), st.floats(0.3, 2.0))
def test_random_expressions_engine_equals_jax_grad(expr, x0, y0):
    with jax.enable_x64(True):
        g = Graph()
        inputs = dict(zip("xy", g.inputs("x", "y"), strict=True))
        F = build(g, expr, inputs)
        try:
            ev = g.forward({"x": x0, "y": y0})
        except ValueError as err:  # ln/√ of a non-positive value, or overflow: the error names it
            assert "node" in str(err)
            assume(False)
        expected = jax.grad(lambda a, b: evaluate(expr, {"x": a, "y": b}), argnums=(0, 1))(x0, y0)
        np.testing.assert_allclose(ev[F], evaluate(expr, {"x": x0, "y": y0}), rtol=1e-12)
        rev = reverse_sweep(ev, F)
        paths = derivatives_by_paths(ev, F, [v for v in inputs.values() if v.name in rev.values])
        for name, e in zip("xy", expected, strict=True):
            scale_ = max(1.0, abs(float(e)))
            got_rev = rev.values.get(name, 0.0)
            got_paths = paths.values.get(name, 0.0)
            np.testing.assert_allclose(got_rev, e, rtol=1e-10, atol=1e-12 * scale_)
            np.testing.assert_allclose(got_paths, e, rtol=1e-10, atol=1e-12 * scale_)
        # fan-out: the derivative is the sum of the path products (Bilan, L657–663)
        if "x" in rev.values:
            total = sum(float(t.product) for t in path_terms(ev, F, "x"))
            np.testing.assert_allclose(total, rev["x"], rtol=1e-10, atol=1e-12)


@given(st.floats(-3, 3), st.sampled_from(SMOOTH), st.sampled_from(SMOOTH), st.sampled_from(SMOOTH))
def test_fan_out_rule(t0, a, b, c):
    """F(t) = f(u(t), v(t)) with f = ⊗ or ⊕: F' = u'·∂ₓf + v'·∂ᵧf (L643–663, §15 item 4)."""
    with jax.enable_x64(True):
        for op in (ADD, MUL):
            g = Graph()
            t = g.input("t")
            u, v = g.apply(a, t), g.apply(b, t)
            F = g.apply(c, g.apply(op, u, v))
            ev = g.forward({"t": t0})
            dF = reverse_sweep(ev, F)
            f_node = ev.graph.nodes[F.name].inputs[0]
            by_rule = (dF[f_node] * (ev.local[f_node, 0] * ev.local[u.name, 0] + ev.local[f_node, 1] * ev.local[v.name, 0]))
            jf = {"add": jnp.add, "mul": jnp.multiply}[op.name]
            expected = jax.grad(lambda s, jf=jf: JNP[c](jf(JNP[a](s), JNP[b](s))))(t0)
            np.testing.assert_allclose(by_rule, expected, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(dF[t], expected, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_cycle_is_named():
    g = Graph.from_spec({"x": "input", "a": ("ln", "b"), "b": ("exp", "a"), "F": ("mul", "a", "x")})
    with pytest.raises(ValueError, match="cycle: a → b → a"):
        g.forward({"x": 1.0})


def test_self_loop_is_a_cycle():
    with pytest.raises(ValueError, match="cycle: a → a"):
        Graph.from_spec({"a": ("exp", "a")}).order()


def test_unknown_operation_and_node_are_named():
    with pytest.raises(ValueError, match="node 'u': unknown operation 'softplus'"):
        Graph.from_spec({"x": "input", "u": ("softplus", "x")}).order()
    with pytest.raises(ValueError, match="node 'u' uses 'w', which is not a node"):
        Graph.from_spec({"x": "input", "u": ("exp", "w")}).order()
    g = Graph()
    with pytest.raises(ValueError, match="unknown operation 'foo'"):
        g.apply("foo", g.input("x"))
    with pytest.raises(ValueError, match="'add' takes 2 input"):
        g.apply("add", "x")
    with pytest.raises(ValueError, match="already has a node named 'x'"):
        g.input("x")
    with pytest.raises(ValueError, match="expected 'input', a number or"):
        Graph.from_spec({"x": None})


@pytest.mark.parametrize(("op", "value", "text"), [("ln", -1.0, "x > 0"), ("sqrt", -4.0, "x > 0"), ("ln", 0.0, "x > 0"),
                                                   ("inv", 0.0, "x ≠ 0")])
def test_domain_errors_name_the_node(op, value, text):
    g = Graph.from_spec({"x": "input", "u": ("neg", "x"), "bad": (op, "u")})
    with pytest.raises(ValueError, match=rf"node 'bad' = {op}\(u\) is evaluated outside its domain \({text}.*'u': {value}"):
        g.forward({"x": -value})


def test_domain_error_on_arrays_reports_a_bad_value():
    g = Graph.from_spec({"x": "input", "r": ("sqrt", "x")})
    with pytest.raises(ValueError, match=r"node 'r' = sqrt\(x\).*'x': -1\.0"):
        g.forward({"x": jnp.array([4.0, -1.0, 9.0])})


def test_overflow_and_missing_inputs_are_named():
    g = Graph.from_spec({"x": "input", "y": "input", "e": ("exp", "x")})
    with pytest.raises(ValueError, match="node 'e' = exp\\(x\\): value is not finite"):
        g.forward({"x": 1000.0, "y": 0.0})
    with pytest.raises(ValueError, match=r"missing values for \['y'\]"):
        g.forward({"x": 1.0})
    with pytest.raises(ValueError, match=r"unknown inputs \['z'\]"):
        g.forward({"x": 1.0, "y": 0.0, "z": 2.0})


def test_layout_puts_nodes_after_their_inputs():
    g = Graph()
    x = g.input("x")
    F = g.apply("exp", x) * g.apply("ln", x)
    pos = layout(g)
    assert pos[F.name][0] == 2 and pos["x"][0] == 0
    assert len(set(pos.values())) == len(pos)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [("abc", "str"), (b"ab", "bytes"), (None, "NoneType"), ([1.0, "a"], "list"), ({"a": 1}, "dict"),
     (1 + 2j, "complex"), (np.array(["1.0"]), "ndarray")],
)
def test_non_numeric_input_is_a_type_error_naming_the_input(value, type_name):
    # the engine computes with real numbers: anything else is rejected where forward() converts
    # the inputs, with the input's name and the value's type (not a TypeError from inside JAX)
    g = Graph.from_spec({"x": "input", "y": "input", "F": ("mul", "x", "y")})
    with pytest.raises(TypeError, match=rf"input 'x' must be a real number or an array of real numbers, "
                                        rf"got {type_name}"):
        g.forward({"x": value, "y": 1.0})
    # real numbers of every kind still go through: bool, int, float, integer arrays
    for ok in (True, 3, 3.0, np.int32(3), jnp.array([3, 4])):
        np.testing.assert_array_equal(g.forward({"x": ok, "y": 2.0})["F"], 2.0 * np.asarray(ok))
