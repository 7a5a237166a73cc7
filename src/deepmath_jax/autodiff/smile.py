"""The gradient of a neural network, by the *formule du sourire* — chapter 7 *Gradient*
(Gradient), §4 *Gradient pour un réseau de neurones* (book lines 3901–4214).

A feed-forward network is a directed acyclic graph of neurons (:class:`Network`): inputs
x₁, …, xₙ, neurons g with an activation g (the book's u ↦ u², ln, exp, cos, sin, identity, or
σ, tanh, ReLU, H — :mod:`deepmath_jax.calculus.activations`), an optional bias per neuron, weighted
edges that may skip layers, and one output neuron whose value is F. Weights and biases are the
variables a₁, …, aₘ of F̂(x₁, …, xₙ, a₁, …, aₘ) (L3905–3916). Notation of the book (L3928–3942):
for a neuron g, g_* is its output value and g'_* the derivative of its activation at its
pre-activation (Σ aᵢ fᵢ_* + bias); f_* is the output of the neuron (or the input) at the start
of the edge of weight a.

The partial derivatives of F with respect to every weight, bias and input, three ways:

(a) :func:`smile_partials` — the book's formulas, from the output back:
    - *formule du demi-sourire* (L3965–3969), edges entering the output neuron:
      ∂F/∂a = f_* · g'_*;
    - *formule du sourire* (L3943–3959), other edges, summed over the ℓ outgoing edges
      (weights bᵢ) of the neuron g the edge enters:
      ∂F/∂a = Σᵢ f_* · (g'_*/g_*) · bᵢ · ∂F/∂bᵢ;
    - at the input (L3971–3977): the same with f_* = x;
    - a bias (L3985–3991): the same with the virtual input 1, ∂F/∂a = Σᵢ (g'_*/g_*) · bᵢ ·
      ∂F/∂bᵢ (half-smile g'_* at the output neuron);
    - an input variable (L3979–3983): virtual coefficient 1, ∂F/∂x = Σᵢ (bᵢ/x) · ∂F/∂bᵢ.
    These divide by g_* (or x): they are not valid when g_* = 0 (L3994). The function then
    raises :class:`SmileUndefinedError`, or, with ``fallback=True``, uses formula (4) with
    ∂F/∂g from the backward recursion for that neuron only, and lists it in ``fallbacks``.
(b) :func:`recursion_partials` — the general algorithm (L4129–4193), valid also when g_* = 0:
    (6) ∂F/∂g = 1 at the output neuron; (5) ∂F/∂g = Σ_{g→h} ∂F/∂h · b · h'_* (summed over
    the outgoing edges); (4) ∂F/∂a = ∂F/∂g · f_* · g'_*.
(c) :func:`jax_partials` — ``jax.grad`` of the network function (:func:`network_function`).

Values are scalars (one input point), as in the book; use ``float64``
(``jax.enable_x64``) to compare the three to 1e-12.

Example — the book's first network, F(x, a, b, c) = ln(c(ax + b)²) at (2, 3, 4, 5)
(L3999–4076)::

    net = book_example_1()
    p = smile_partials(net, {"x": 2.0}, {"a": 3.0, "b": 4.0, "c": 5.0})
    p.value                      # ln 500
    p.params                     # {'a': 0.4, 'c': 0.2, 'b': 0.2}   (2/5, 1/5, 1/5)
    p.inputs                     # {'x': 0.6}                       (3/5)
    print(p.steps[1])            # ∂F/∂a = 2 × 20/100 × 5 × {{0.2}} = 0.4   (smile, L4030)
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.calculus.activations import ACTIVATIONS, get_activation

# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Edge:
    """An edge ``source → target`` carrying the weight named ``weight`` (a variable of F̂)."""

    source: str
    target: str
    weight: str


@dataclasses.dataclass(frozen=True)
class Neuron:
    """A neuron: its activation (a name known to :mod:`deepmath_jax.calculus.activations`) and the name
    of its bias variable (``None``: no bias)."""

    name: str
    activation: str
    bias: str | None = None


class Network:
    """A feed-forward network as a DAG of neurons with one output neuron (L3901–3916).

    Args:
      inputs: names of the input variables x₁, …, xₙ.
      neurons: :class:`Neuron` objects or tuples ``(name, activation)`` /
        ``(name, activation, bias_name)``.
      edges: :class:`Edge` objects or tuples ``(source, target, weight_name)``; a source is an
        input or a neuron, a target a neuron; edges may skip layers.
      output: the output neuron (F is its value); by default the only neuron with no outgoing
        edge.

    Raises:
      ValueError: with a message naming the problem — an unknown activation, a dangling edge
        (its source or target is not a node), an edge into an input, a cycle (listed
        ``g → h → g``), a weight or bias name used twice, a neuron without incoming edge, a
        neuron that does not lead to the output, or no (or several) candidate outputs.
    """

    def __init__(
        self,
        inputs: Sequence[str],
        neurons: Iterable[Neuron | tuple[str, ...]],
        edges: Iterable[Edge | tuple[str, str, str]],
        output: str | None = None,
    ) -> None:
        self.inputs: tuple[str, ...] = tuple(inputs)
        neuron_list = [n if isinstance(n, Neuron) else Neuron(*n) for n in neurons]
        self.edges: tuple[Edge, ...] = tuple(e if isinstance(e, Edge) else Edge(*e) for e in edges)
        if not self.inputs:
            raise ValueError("a network needs at least one input")
        if not neuron_list:
            raise ValueError("a network needs at least one neuron")
        seen: set[str] = set()
        for name in (*self.inputs, *(n.name for n in neuron_list)):
            if name in seen:
                raise ValueError(f"the name {name!r} is used twice: inputs and neurons need distinct names")
            seen.add(name)
        for n in neuron_list:
            if n.activation not in ACTIVATIONS:
                known = ", ".join(sorted(ACTIVATIONS))
                raise ValueError(f"neuron {n.name!r}: unknown activation {n.activation!r}; known activations: {known}")
        self.neurons: dict[str, Neuron] = {n.name: n for n in neuron_list}

        params: dict[str, str] = {}
        for e in self.edges:
            where = f"edge {e.weight!r} ({e.source} → {e.target})"
            if e.source not in self.neurons and e.source not in self.inputs:
                raise ValueError(f"{where}: its source {e.source!r} is neither an input nor a neuron (dangling edge)")
            if e.target in self.inputs:
                raise ValueError(f"{where}: an edge cannot enter the input {e.target!r}")
            if e.target not in self.neurons:
                raise ValueError(f"{where}: its target {e.target!r} is not a neuron (dangling edge)")
            if e.weight in params:
                raise ValueError(f"{where}: the weight name {e.weight!r} is already used by {params[e.weight]}; "
                                 "every weight and bias is its own variable")
            params[e.weight] = where
        for n in neuron_list:
            if n.bias is not None:
                if n.bias in params:
                    raise ValueError(f"neuron {n.name!r}: the bias name {n.bias!r} is already used by {params[n.bias]}")
                params[n.bias] = f"the bias of neuron {n.name!r}"
        self.params: tuple[str, ...] = tuple(params)

        self.incoming: dict[str, tuple[Edge, ...]] = {
            g: tuple(e for e in self.edges if e.target == g) for g in self.neurons
        }
        self.outgoing: dict[str, tuple[Edge, ...]] = {
            v: tuple(e for e in self.edges if e.source == v) for v in (*self.inputs, *self.neurons)
        }
        for g, inc in self.incoming.items():
            if not inc:
                raise ValueError(f"neuron {g!r} has no incoming edge: every neuron receives at least one "
                                 "input or neuron")
        self.order: tuple[str, ...] = self._topological_order()

        if output is None:
            sinks = [g for g in self.order if not self.outgoing[g]]
            if len(sinks) != 1:
                raise ValueError(f"the neurons without outgoing edge are {sinks}: pass output=<name> and "
                                 "connect the others (a network has one output neuron here)")
            output = sinks[0]
        if output not in self.neurons:
            raise ValueError(f"the output {output!r} is not a neuron of the network")
        if self.outgoing[output]:
            raise ValueError(f"the output neuron {output!r} has outgoing edges "
                             f"{[e.weight for e in self.outgoing[output]]}: F is its value, nothing follows it")
        self.output: str = output
        reaching = self._reaching(output)
        for g in self.order:
            if g not in reaching:
                raise ValueError(f"neuron {g!r} does not lead to the output {output!r} (a dangling neuron): "
                                 "connect it to a later neuron or remove it")

    def _topological_order(self) -> tuple[str, ...]:
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        order: list[str] = []

        def visit(g: str, path: list[str]) -> None:
            if state.get(g) == 2:
                return
            if state.get(g) == 1:
                cycle = [*path[path.index(g):], g][::-1]  # the path runs from targets to sources
                raise ValueError(f"the network has a cycle: {' → '.join(cycle)}; a feed-forward network "
                                 "must be a directed acyclic graph")
            state[g] = 1
            for e in self.incoming[g]:
                if e.source in self.neurons:
                    visit(e.source, [*path, g])
            state[g] = 2
            order.append(g)

        for g in self.neurons:
            visit(g, [])
        return tuple(order)

    def _reaching(self, output: str) -> set[str]:
        seen, stack = set(), [output]
        while stack:
            g = stack.pop()
            if g not in seen:
                seen.add(g)
                stack.extend(e.source for e in self.incoming.get(g, ()))
        return seen

    @property
    def depth(self) -> dict[str, int]:
        """Layer of each node: 0 for inputs, 1 + the largest layer of its sources for neurons."""
        d = {x: 0 for x in self.inputs}
        for g in self.order:
            d[g] = 1 + max(d[e.source] for e in self.incoming[g])
        return d

    def __repr__(self) -> str:
        return (f"Network(inputs={list(self.inputs)}, neurons={len(self.neurons)}, edges={len(self.edges)}, "
                f"output={self.output!r})")

    def describe(self) -> str:
        """One line per neuron: ``g = sin(a·x + c·h + b)``."""
        lines = []
        for g in self.order:
            n = self.neurons[g]
            terms = [f"{e.weight}·{e.source}" for e in self.incoming[g]]
            if n.bias is not None:
                terms.append(n.bias)
            tag = "  (output F)" if g == self.output else ""
            lines.append(f"{g} = {n.activation}({' + '.join(terms)}){tag}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Forward pass
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Forward:
    """The forward pass at one point: for every node, ``out`` (g_*; the input's value x for an
    input), ``pre`` (the pre-activation of a neuron) and ``slope`` (g'_* = g'(pre))."""

    network: Network
    inputs: dict[str, Array]
    params: dict[str, Array]
    pre: dict[str, Array]
    out: dict[str, Array]
    slope: dict[str, Array]

    @property
    def value(self) -> Array:
        """F = the output neuron's value (formula (6): F_* = g_*)."""
        return self.out[self.network.output]


def _check_real(label: str, v: Any) -> None:
    """A clear TypeError for a value that is not a real number (a string, None, a complex
    number…), naming the variable (``label``: ``"input 'x'"``) and the value's type, before
    JAX sees it."""
    dtype = getattr(v, "dtype", None)  # JAX / NumPy arrays and scalars
    if dtype is None:
        try:
            dtype = np.asarray(v).dtype
        except (TypeError, ValueError):  # ragged lists, objects NumPy cannot read
            dtype = np.dtype(object)
    if not (dtype == np.bool_ or jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
        raise TypeError(f"{label} must be a real number, got {type(v).__name__} {reprlib.repr(v)} (dtype {dtype})")


def _scalar(name: str, v: ArrayLike, what: str) -> Array:
    _check_real(f"{what} {name!r}", v)
    a = jnp.asarray(v)
    if a.ndim != 0:
        raise ValueError(f"{what} {name!r} must be a scalar (the smile engine works at one point), got shape {a.shape}")
    # a strong float dtype: weak-typed Python floats would let float32 creep in (e.g. through
    # the activations' ``result_type(x, float32)``) and break float64 comparisons
    dtype = a.dtype if jnp.issubdtype(a.dtype, jnp.floating) else jnp.result_type(float)
    return jnp.asarray(a, dtype=dtype)


def _check_values(net: Network, inputs: Mapping[str, ArrayLike], params: Mapping[str, ArrayLike]) -> tuple[dict, dict]:
    for what, given, names in (("inputs", inputs, net.inputs), ("parameters", params, net.params)):
        missing = [n for n in names if n not in given]
        unknown = [n for n in given if n not in names]
        if missing or unknown:
            raise ValueError(f"{what} of the network: {list(names)}; missing values for {missing}, "
                             f"values for unknown {what} {unknown}")
    xs = {n: _scalar(n, inputs[n], "input") for n in net.inputs}
    ps = {n: _scalar(n, params[n], "parameter") for n in net.params}
    return xs, ps


def forward(net: Network, inputs: Mapping[str, ArrayLike], params: Mapping[str, ArrayLike]) -> Forward:
    """Values of every neuron from the inputs to the output (left to right, L3808–3810), with
    the local derivatives g'_* of the activations.

    Raises:
      TypeError: an input or parameter value that is not a real number (a string, None…).
      ValueError: missing or unknown input/parameter values, non-scalar values, or a neuron
        whose value or local derivative is not finite (ln of a non-positive number, overflow of
        exp): the message names the neuron, its activation, its pre-activation and domain.
    """
    xs, ps = _check_values(net, inputs, params)
    pre: dict[str, Array] = {}
    out: dict[str, Array] = dict(xs)
    slope: dict[str, Array] = {}
    for g in net.order:
        n = net.neurons[g]
        act = get_activation(n.activation)
        s = sum(ps[e.weight] * out[e.source] for e in net.incoming[g])  # at least one edge
        if n.bias is not None:
            s = s + ps[n.bias]
        pre[g], out[g], slope[g] = s, act.fn(s), act.derivative(s)
        if not (bool(jnp.isfinite(out[g])) and bool(jnp.isfinite(slope[g]))):
            raise ValueError(f"neuron {g!r} ({n.activation}, domain {act.domain}): pre-activation {float(s)!r} gives "
                             f"value {float(out[g])!r} and local derivative {float(slope[g])!r}, not finite")
    return Forward(net, xs, ps, pre, out, slope)


def network_function(net: Network) -> Callable[[Mapping[str, Array], Mapping[str, Array]], Array]:
    """F̂ as a pure JAX function ``F(inputs, params)`` of two dicts (L3913–3916): the library
    side, for ``jax.grad``/``jax.jit``; no checks inside (use :func:`forward` for those)."""
    acts = {g: get_activation(net.neurons[g].activation).fn for g in net.order}

    def F(inputs: Mapping[str, Array], params: Mapping[str, Array]) -> Array:
        out = dict(inputs)
        for g in net.order:
            s = sum(params[e.weight] * out[e.source] for e in net.incoming[g])
            bias = net.neurons[g].bias
            if bias is not None:
                s = s + params[bias]
            out[g] = acts[g](s)
        return out[net.output]

    return F


# --------------------------------------------------------------------------------------------
# The three ways to the partial derivatives
# --------------------------------------------------------------------------------------------


class SmileUndefinedError(ValueError):
    """The smile formula divides by g_* (or by x for an input); the book excludes g_* = 0 (L3994)."""


@dataclasses.dataclass(frozen=True)
class SmileStep:
    """One application of a formula: ``∂F/∂variable = Σ terms``.

    ``kind`` is ``"half-smile"``, ``"smile"``, ``"input edge"``, ``"bias"``, ``"half-smile
    (bias)"``, ``"input variable"`` or ``"recursion (4)"`` (the fallback where g_* = 0);
    ``terms`` holds, per outgoing edge bᵢ of the neuron g, the factors
    (f_*, g'_*, g_*, bᵢ, ∂F/∂bᵢ) of f_* · (g'_*/g_*) · bᵢ · ∂F/∂bᵢ; a half-smile has the single
    term (f_*, g'_*). ``line`` is the book line of the formula.
    """

    variable: str
    kind: str
    line: int
    terms: tuple[tuple[float, ...], ...]
    value: float

    def __str__(self) -> str:
        def num(v: float) -> str:
            return f"{v:.6g}"

        if self.kind.startswith("half-smile"):
            (f, gp), = self.terms
            body = f"{num(f)} × {num(gp)}"
        elif self.kind == "recursion (4)":
            (dg, f, gp), = self.terms
            body = f"{{{{∂F/∂g = {num(dg)}}}}} × {num(f)} × {num(gp)}"
        else:
            body = " + ".join(f"{num(f)} × {num(gp)}/{num(g)} × {num(b)} × {{{{{num(dfb)}}}}}"
                              for f, gp, g, b, dfb in self.terms) or "0 (no outgoing edge)"
        return f"∂F/∂{self.variable} = {body} = {num(self.value)}   ({self.kind}, L{self.line})"


@dataclasses.dataclass(frozen=True)
class Partials:
    """F and its partial derivatives: ``params[name]`` = ∂F/∂(weight or bias), ``inputs[name]``
    = ∂F/∂x. ``steps`` (smile) lists the formulas applied, in order; ``fallbacks`` (smile) the
    nodes where g_* = 0 forced formula (4); ``sensitivities`` (recursion) ∂F/∂g for every node."""

    value: Array
    params: dict[str, Array]
    inputs: dict[str, Array]
    method: str
    steps: tuple[SmileStep, ...] = ()
    fallbacks: tuple[str, ...] = ()
    sensitivities: dict[str, Array] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        """Every partial derivative by variable name (parameters, then inputs) as floats."""
        return {**{k: float(v) for k, v in self.params.items()}, **{k: float(v) for k, v in self.inputs.items()}}


def _sensitivities(fw: Forward) -> dict[str, Array]:
    """∂F/∂g for every node g (neurons and inputs): formula (6) then (5), from the output back."""
    net = fw.network
    d: dict[str, Array] = {net.output: jnp.ones_like(fw.value)}  # (6)
    # every neuron leads to the output, so the output is last in the topological order
    for v in (*reversed(net.order[:-1]), *net.inputs):
        # (5), summed over the outgoing edges g → h of weight b: ∂F/∂g = Σ ∂F/∂h · b · h'_*
        d[v] = sum((d[e.target] * fw.params[e.weight] * fw.slope[e.target] for e in net.outgoing[v]),
                   start=jnp.zeros_like(fw.value))
    return d


def recursion_partials(net: Network, inputs: Mapping[str, ArrayLike], params: Mapping[str, ArrayLike]) -> Partials:
    """The general algorithm (L4176–4193), valid also where g_* = 0:

    - (6) ∂F/∂g = 1 for the output neuron (L4170);
    - (5) ∂F/∂g = Σ_{edges g → h of weight b} ∂F/∂h · b · h'_*, neurons taken from the output
      back (L4157, L4185; the sum over outgoing edges as in automatic differentiation, L4213);
    - (4) ∂F/∂a = ∂F/∂g · f_* · g'_* for the edge of weight a from f to g (L4149, L4191); a bias
      is an edge from the virtual input 1; an input x is a node like the others, ∂F/∂x by (5).
    """
    fw = forward(net, inputs, params)
    d = _sensitivities(fw)
    grads: dict[str, Array] = {}
    for e in net.edges:
        grads[e.weight] = d[e.target] * fw.out[e.source] * fw.slope[e.target]  # (4)
    for g, n in net.neurons.items():
        if n.bias is not None:
            grads[n.bias] = d[g] * fw.slope[g]  # (4) with f_* = 1
    return Partials(fw.value, {k: grads[k] for k in net.params}, {x: d[x] for x in net.inputs},
                    "recursion", sensitivities=d)


def smile_partials(
    net: Network,
    inputs: Mapping[str, ArrayLike],
    params: Mapping[str, ArrayLike],
    *,
    fallback: bool = False,
) -> Partials:
    """The partial derivatives by the *formule du sourire* (L3943–3991), from the output back.

    For the edge of weight a from f (a neuron, or an input x: L3971–3977) to the neuron g:

    - g is the output neuron — half-smile (L3965–3969): ∂F/∂a = f_* · g'_*;
    - otherwise — smile, summed over the outgoing edges g → hᵢ of weights bᵢ (L3943, L3954):
      ∂F/∂a = Σᵢ f_* · (g'_*/g_*) · bᵢ · ∂F/∂bᵢ, where each ∂F/∂bᵢ is already known (its
      neuron hᵢ comes later in the network);
    - a bias of g is an edge from the virtual input f_* = 1 (L3985–3991);
    - an input variable x (L3979–3983): ∂F/∂x = Σᵢ (bᵢ/x) · ∂F/∂bᵢ over its outgoing edges.

    Args:
      fallback: what to do where the formula divides by zero (g_* = 0, or x = 0 for ∂F/∂x;
        the book: "Ces formules ne sont pas valables lorsque g_* = 0", L3994). ``False``
        (default): raise :class:`SmileUndefinedError`. ``True``: use formula (4),
        ∂F/∂a = ∂F/∂g · f_* · g'_* with ∂F/∂g from the backward recursion (L4149–4193), and
        record the node in ``Partials.fallbacks`` and a ``"recursion (4)"`` step.

    Raises:
      SmileUndefinedError: g_* = 0 (or x = 0) where the smile formula is needed and
        ``fallback`` is False; the message names the neuron and the variables concerned.
      ValueError: bad network values (see :func:`forward`).
    """
    fw = forward(net, inputs, params)
    dF: dict[str, Array] = {}
    steps: list[SmileStep] = []
    fallbacks: list[str] = []
    sens: dict[str, Array] | None = None

    def sensitivity(g: str) -> Array:
        nonlocal sens
        if sens is None:
            sens = _sensitivities(fw)
        return sens[g]

    def outgoing_terms(g: str) -> list[tuple[Array, Array]]:
        return [(fw.params[e.weight], dF[e.weight]) for e in net.outgoing[g]]

    def undefined(g: str, variables: list[str], divisor: str) -> SmileUndefinedError:
        return SmileUndefinedError(
            f"formule du sourire undefined for ∂F/∂{', ∂F/∂'.join(variables)}: {divisor} = 0 at {g!r} "
            "(the formula divides by it, L3994); pass fallback=True to use formula (4) with the backward "
            "recursion there, or call recursion_partials")

    for g in reversed(net.order):
        n = net.neurons[g]
        gp, gs = fw.slope[g], fw.out[g]
        sources = [(e.weight, e.source, fw.out[e.source]) for e in net.incoming[g]]
        if n.bias is not None:
            sources.append((n.bias, None, jnp.ones_like(gs)))  # virtual input 1
        if g == net.output:
            for var, src, f in sources:
                dF[var] = f * gp
                kind = "half-smile (bias)" if src is None else "half-smile"
                steps.append(SmileStep(var, kind, 3967, ((float(f), float(gp)),), float(dF[var])))
            continue
        outs = outgoing_terms(g)
        if bool(gs == 0):
            if not fallback:
                raise undefined(g, [v for v, _, _ in sources], f"g_* = {n.activation}(pre-activation)")
            fallbacks.append(g)
            dg = sensitivity(g)
            for var, _, f in sources:
                dF[var] = dg * f * gp  # (4)
                steps.append(SmileStep(var, "recursion (4)", 4149, ((float(dg), float(f), float(gp)),), float(dF[var])))
            continue
        for var, src, f in sources:
            terms = [f * (gp / gs) * b * dfb for b, dfb in outs]
            dF[var] = sum(terms, start=jnp.zeros_like(gs))
            kind, line = (("bias", 3987) if src is None else ("input edge", 3974) if src in net.inputs
                          else ("smile", 3954))
            steps.append(SmileStep(var, kind, line, tuple((float(f), float(gp), float(gs), float(b), float(dfb))
                                                          for b, dfb in outs), float(dF[var])))

    dx: dict[str, Array] = {}
    for x in net.inputs:
        xv = fw.out[x]
        outs = outgoing_terms(x)
        if outs and bool(xv == 0):
            if not fallback:
                raise undefined(x, [x], f"the input {x}")
            fallbacks.append(x)
            dx[x] = sensitivity(x)
            steps.append(SmileStep(x, "recursion (4)", 4157, ((float(dx[x]), 1.0, 1.0),), float(dx[x])))
            continue
        # virtual coefficient 1 and identity activation: f_* = 1, g'_* = 1, g_* = x (L3979–3983)
        dx[x] = sum(((b / xv) * dfb for b, dfb in outs), start=jnp.zeros_like(xv))
        steps.append(SmileStep(x, "input variable", 3981,
                               tuple((1.0, 1.0, float(xv), float(b), float(dfb)) for b, dfb in outs), float(dx[x])))
    return Partials(fw.value, {k: dF[k] for k in net.params}, dx, "smile", tuple(steps), tuple(fallbacks))


def jax_partials(net: Network, inputs: Mapping[str, ArrayLike], params: Mapping[str, ArrayLike]) -> Partials:
    """The library side: ``jax.value_and_grad`` of :func:`network_function` with respect to the
    parameters and the inputs."""
    xs, ps = _check_values(net, inputs, params)
    value, (gp, gx) = jax.value_and_grad(lambda p, x: network_function(net)(x, p), argnums=(0, 1))(ps, xs)
    return Partials(value, {k: gp[k] for k in net.params}, {k: gx[k] for k in net.inputs}, "jax.grad")


def error_partials(partials: Partials, y0: ArrayLike) -> tuple[Array, dict[str, Array]]:
    """E = (F − y₀)² and ∂E/∂aⱼ = 2 ∂F/∂aⱼ (F − y₀) for every variable (L3917–3924; chapter 9
    uses it for each data point, L5006)."""
    F = partials.value
    _check_real("y0", y0)
    diff = F - jnp.asarray(y0, dtype=jnp.result_type(F))
    grads = {k: 2 * v * diff for k, v in {**partials.params, **partials.inputs}.items()}
    return diff * diff, grads


def max_difference(p: Partials, q: Partials, *, relative: bool = True) -> float:
    """The largest difference between two sets of partial derivatives (and of F), relative to
    max(1, |value|) when ``relative``; the variables must be the same."""
    a, b = p.as_dict(), q.as_dict()
    if a.keys() != b.keys():
        raise ValueError(f"different variables: {sorted(a)} and {sorted(b)}")
    pairs = [(float(p.value), float(q.value)), *((a[k], b[k]) for k in a)]
    return max(abs(u - v) / (max(1.0, abs(u)) if relative else 1.0) for u, v in pairs)


# --------------------------------------------------------------------------------------------
# The book's two networks, layered networks and random DAGs
# --------------------------------------------------------------------------------------------


def book_example_1() -> Network:
    """x →(a)→ [u ↦ u², bias b] →(c)→ [v ↦ ln v] → F(x, a, b, c) = ln(c(ax + b)²) (L3999–4015)."""
    return Network(["x"], [Neuron("square", "square", "b"), Neuron("ln", "ln")],
                   [Edge("x", "square", "a"), Edge("square", "ln", "c")])


def book_example_1_formulas(x: float, a: float, b: float, c: float) -> dict[str, float]:
    """F and its partial derivatives, differentiated by hand from ln(c(ax + b)²): F, ∂F/∂a =
    2x/(ax + b) (L4072), ∂F/∂b = 2/(ax + b), ∂F/∂c = 1/c, ∂F/∂x = 2a/(ax + b)."""
    u = a * x + b
    return {"F": float(np.log(c * u * u)), "a": 2 * x / u, "b": 2 / u, "c": 1 / c, "x": 2 * a / u}


def book_example_2() -> Network:
    """x →(a)→ [cos], x →(b)→ [sin], both →(c), (d)→ [exp] → F(x, a, b, c, d) =
    exp(c cos(ax) + d sin(bx)) (L4078–4086); no biases."""
    return Network(["x"], [Neuron("cos", "cos"), Neuron("sin", "sin"), Neuron("exp", "exp")],
                   [Edge("x", "cos", "a"), Edge("x", "sin", "b"), Edge("cos", "exp", "c"), Edge("sin", "exp", "d")])


def book_example_2_formulas(x: float, a: float, b: float, c: float, d: float) -> dict[str, float]:
    """The book's symbolic partial derivatives (L4092–4127), with u = ax, v = bx,
    w = c cos u + d sin v: ∂F/∂c = cos u·e^w, ∂F/∂d = sin v·e^w, ∂F/∂a = −xc sin u·e^w,
    ∂F/∂b = xd cos v·e^w, ∂F/∂x = (−ac sin u + bd cos v)·e^w."""
    u, v = a * x, b * x
    ew = float(np.exp(c * np.cos(u) + d * np.sin(v)))
    return {"F": ew, "c": np.cos(u) * ew, "d": np.sin(v) * ew, "a": -x * c * np.sin(u) * ew,
            "b": x * d * np.cos(v) * ew, "x": (-a * c * np.sin(u) + b * d * np.cos(v)) * ew}


def layered_network(
    n_inputs: int,
    widths: Sequence[int],
    activations: Sequence[str] | str,
    *,
    bias: bool = True,
    skip: Iterable[tuple[str, str]] = (),
) -> Network:
    """A dense layered network x1…xn → widths[0] → … → widths[-1] (the last width must be 1),
    neurons ``"l{layer}n{i}"``, weights ``"w:{source}>{target}"``, biases ``"b:{neuron}"``;
    ``activations`` one per layer (or one for all); ``skip`` adds edges (source, target)
    across layers."""
    if not widths or widths[-1] != 1:
        raise ValueError(f"the last layer must have one neuron (the output F), got widths {list(widths)}")
    acts = [activations] * len(widths) if isinstance(activations, str) else list(activations)
    if len(acts) != len(widths):
        raise ValueError(f"{len(widths)} layers but {len(acts)} activations")
    prev = [f"x{i + 1}" for i in range(n_inputs)]
    inputs, neurons, edges = list(prev), [], []
    for layer, (w, act) in enumerate(zip(widths, acts, strict=True), start=1):
        names = [f"l{layer}n{i + 1}" for i in range(w)]
        for g in names:
            neurons.append(Neuron(g, act, f"b:{g}" if bias else None))
            edges.extend(Edge(s, g, f"w:{s}>{g}") for s in prev)
        prev = names
    edges.extend(Edge(s, t, f"w:{s}>{t}") for s, t in skip)
    return Network(inputs, neurons, edges)


def random_network(
    key: Array,
    *,
    n_inputs: int = 2,
    widths: Sequence[int] = (3, 3),
    activations: Sequence[str] = ("sigmoid", "tanh", "sin", "cos", "identity", "square"),
    edge_prob: float = 0.6,
    skip_prob: float = 0.3,
    bias_prob: float = 0.7,
) -> Network:
    """A random DAG: hidden layers of the given ``widths`` then one output neuron; each neuron
    gets edges from the previous layer (each with probability ``edge_prob``, at least one) and
    skip edges from any earlier layer or input (probability ``skip_prob``); every node that
    would have no outgoing edge is wired to a random later neuron; activations drawn from
    ``activations``; a bias with probability ``bias_prob``. Deterministic in ``key``."""
    rng = np.random.default_rng(np.asarray(jax.random.randint(key, (), 0, 2**31 - 1)).item())
    layers = [[f"x{i + 1}" for i in range(n_inputs)]]
    layers += [[f"l{k + 1}n{i + 1}" for i in range(w)] for k, w in enumerate(widths)]
    layers.append(["F"])
    neurons: list[Neuron] = []
    edges: list[tuple[str, str]] = []
    for k in range(1, len(layers)):
        earlier = [v for layer in layers[: k - 1] for v in layer]
        for g in layers[k]:
            act = activations[rng.integers(len(activations))]
            neurons.append(Neuron(g, act, f"b:{g}" if rng.random() < bias_prob else None))
            prev = [s for s in layers[k - 1] if rng.random() < edge_prob] or [layers[k - 1][rng.integers(len(layers[k - 1]))]]
            edges += [(s, g) for s in prev]
            edges += [(s, g) for s in earlier if rng.random() < skip_prob]
    for k in range(len(layers) - 1):
        later = [v for layer in layers[k + 1:] for v in layer]
        for v in layers[k]:
            if not any(s == v for s, _ in edges):
                edges.append((v, later[rng.integers(len(later))]))
    return Network(layers[0], neurons, [Edge(s, t, f"w:{s}>{t}") for s, t in edges])


def random_values(key: Array, net: Network, *, scale: float = 1.0) -> tuple[dict[str, float], dict[str, float]]:
    """Inputs and parameters drawn uniformly in [−scale, scale] (deterministic in ``key``), as
    Python floats (drawn by a NumPy generator seeded from ``key``: no compilation per network size)."""
    rng = np.random.default_rng(np.asarray(jax.random.randint(key, (), 0, 2**31 - 1)).item())
    xs = rng.uniform(-scale, scale, len(net.inputs))
    ps = rng.uniform(-scale, scale, len(net.params))
    return ({k: float(v) for k, v in zip(net.inputs, xs, strict=True)},
            {k: float(v) for k, v in zip(net.params, ps, strict=True)})


def compare_methods(net: Network, inputs: Mapping[str, ArrayLike], params: Mapping[str, ArrayLike],
                    *, fallback: bool = True) -> dict[str, Any]:
    """The three computations at one point and their largest relative differences."""
    a = smile_partials(net, inputs, params, fallback=fallback)
    b = recursion_partials(net, inputs, params)
    c = jax_partials(net, inputs, params)
    return {"smile": a, "recursion": b, "jax": c, "smile_vs_jax": max_difference(a, c),
            "recursion_vs_jax": max_difference(b, c), "smile_vs_recursion": max_difference(a, b)}
