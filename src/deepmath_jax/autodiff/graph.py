"""Automatic differentiation on a computation graph — chapter 1 *Dérivée* (Derivative), §2
*Dérivation automatique* (book lines 460–700); chapter 7 *Gradient* uses the same engine with
functions of several variables.

The book's method, as a small engine in the spirit of micrograd:

1. **Graphe de calcul** (L463–499): nodes are values — inputs, constants, or the result of an
   operation applied to earlier nodes. Operations are unary functions (an arrow x ↦ f(x)),
   ⊕ and ⊗ (two inputs, one output), or any function of several inputs.
2. **Dérivées locales** (L501–531, L621–633): each edge carries the local derivative
   [∂node/∂input]: [f'(x₀)] for x ↦ f(x); [1], [1] for ⊕; the *swapped* inputs [y₀], [x₀] for ⊗.
3. **Bilan** (L657–663): the derivative of F with respect to an input is the sum, over the paths
   from F(x₀) back to the input, of the product of the local derivatives along the path,
   multiplied from the right (:func:`path_terms`, :func:`derivatives_by_paths`).
4. **Dérivées séquentielles** (L665–700): the reverse sweep {{dF/dxᵢ}} = Σ {{dF/dxᵢ₊₁}}·[∂xᵢ₊₁/∂xᵢ]
   (summed over the nodes that use xᵢ), starting from {{dF/dF}} = 1 (:func:`reverse_sweep`): one
   multiplication per edge, n for a chain of n functions instead of n(n+1)/2 with the paths.

Example — the book's graph √(x·y + z²) at (2, 8, 3) (L481–499)::

    g = Graph()
    x, y, z = g.inputs("x", "y", "z")
    F = g.apply("sqrt", x * y + g.apply("square", z))
    ev = g.forward({"x": 2.0, "y": 8.0, "z": 3.0})
    ev[F]                                  # 5.0
    reverse_sweep(ev, F)[x]                # 0.8 = y/(2F)

Chapter 7 *Gradient* §3 *Différentiation automatique* (L3727–3899) adds nodes of two (or n)
variables: a node (x, y) ↦ f(x, y) carries [∂ₓf(x₀, y₀)] and [∂ᵧf(x₀, y₀)] on its two incoming
branches (:func:`binary`; ``sub`` and ``div`` are registered beside ⊕ and ⊗), and the same
rules give every partial derivative, hence the gradient (:func:`gradient`). The book's graphs
are :func:`ln_x2y_plus_sin_y` (L3782), :func:`sqrt_exp_times_sin` (L3853),
:func:`t_plus_ln2_plus_inv_sin` (L3888) and :func:`t2_ln_t_ln_ln_t` (L3892)::

    g, x, y, F = ln_x2y_plus_sin_y()
    ev = g.forward({"x": 3.0, "y": 2.0})
    ev.local["z", 0], ev.local["z", 1]     # [12], [9 + cos 2]
    gradient(ev, F)                        # (12, 9 + cos 2)/(18 + sin 2)

A node of several variables of one's own is one line::

    f = binary("f", lambda x, y: x * jnp.exp(y), lambda x, y: jnp.exp(y), lambda x, y: x * jnp.exp(y))

Values are JAX arrays (scalars, or arrays of one shape to evaluate at many points at once); the
engine runs eagerly, node by node, so that an error can name its node. ``jax.grad`` of
:meth:`Graph.as_function` is the library version it is tested against.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.calculus.activations import ACTIVATIONS

# --------------------------------------------------------------------------------------------
# Operations: a function and its local partial derivatives
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Op:
    """An operation of the graph: ``fn(*inputs)`` and its partial derivatives, by hand.

    ``partials[i](*inputs)`` is the local derivative [∂fn/∂inputᵢ] written on the i-th edge.
    ``domain(*inputs)`` (optional) is True where ``fn`` and its partials are defined;
    ``domain_text`` says it in words for the error message. ``label`` is how the book writes
    the arrow (``"x ↦ ln(x)"``, ``"⊕"``).
    """

    name: str
    fn: Callable[..., Array]
    partials: tuple[Callable[..., Array], ...]
    label: str = ""
    domain: Callable[..., Any] | None = None
    domain_text: str = ""

    @property
    def arity(self) -> int:
        return len(self.partials)


def unary(name: str, fn: Callable, derivative: Callable, *, label: str = "", domain=None,
          domain_text: str = "") -> Op:
    """A unary operation x ↦ f(x) with its local derivative [f'(x)] (L501–531)."""
    return Op(name, fn, (derivative,), label or f"x ↦ {name}(x)", domain, domain_text)


OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Make ``op`` known to graphs by its name (``g.apply("name", ...)``); returns it."""
    OPS[op.name] = op
    return op


# ⊕ and ⊗ (L621–633): [1], [1] and the swapped inputs [y₀], [x₀].
ADD = register(Op("add", lambda x, y: x + y, (lambda x, y: jnp.ones_like(x), lambda x, y: jnp.ones_like(y)), "⊕"))
MUL = register(Op("mul", lambda x, y: x * y, (lambda x, y: y, lambda x, y: x), "⊗"))

_DOMAINS = {"ln": (lambda x: x > 0, "x > 0")}
_LABELS = {"square": "x ↦ x²", "identity": "x ↦ x", "ln": "x ↦ ln(x)", "sigmoid": "x ↦ σ(x)", "tanh": "x ↦ th(x)",
           "heaviside": "x ↦ H(x)", "relu": "x ↦ ReLU(x)"}
for _a in ACTIVATIONS.values():  # the chapter's functions, with their hand derivatives
    _domain, _text = _DOMAINS.get(_a.name, (None, ""))
    register(unary(_a.name, _a.fn, _a.derivative, label=_LABELS.get(_a.name, ""), domain=_domain, domain_text=_text))
register(unary("sqrt", jnp.sqrt, lambda x: 0.5 / jnp.sqrt(x), label="x ↦ √x",
               domain=lambda x: x > 0, domain_text="x > 0, where √x has the derivative 1/(2√x)"))
register(unary("inv", lambda x: 1 / x, lambda x: -1 / x**2, label="x ↦ 1/x",
               domain=lambda x: x != 0, domain_text="x ≠ 0"))
register(unary("tan", jnp.tan, lambda x: 1 + jnp.tan(x) ** 2, domain=lambda x: jnp.cos(x) != 0,
               domain_text="cos x ≠ 0"))
register(unary("neg", lambda x: -x, lambda x: -jnp.ones_like(x), label="x ↦ −x"))


def binary(name: str, fn: Callable, d_dx: Callable, d_dy: Callable, *, label: str = "", domain=None,
           domain_text: str = "") -> Op:
    """A node of two variables (x, y) ↦ f(x, y) — chapter 7 §3.1 (L3732–3774): the branch from x
    carries the local derivative [∂ₓf(x₀, y₀)], the branch from y carries [∂ᵧf(x₀, y₀)], and a
    partial derivative of the output is, as before, the product of the local derivatives along the
    branches from the output back to that input. ⊕ and ⊗ are the cases x + y and x × y (L3776).

    For n variables (L3815) build an :class:`Op` with n partials: branch i carries [∂f/∂xᵢ].
    """
    return Op(name, fn, (d_dx, d_dy), label or name, domain, domain_text)


# Two more nodes of two variables, with their hand partials.
SUB = register(binary("sub", lambda x, y: x - y, lambda x, y: jnp.ones_like(x), lambda x, y: -jnp.ones_like(y),
                      label="⊖"))
DIV = register(binary("div", lambda x, y: x / y, lambda x, y: 1 / y, lambda x, y: -x / y**2, label="⊘",
                      domain=lambda x, y: y != 0, domain_text="y ≠ 0"))


def power(n: float) -> Op:
    """x ↦ xⁿ with [n xⁿ⁻¹] (table L308–323); non-integer n needs x > 0."""
    integer = float(n).is_integer()
    return unary(f"pow{n:g}", lambda x: x**n, lambda x: n * x ** (n - 1), label=f"x ↦ x^{n:g}",
                 domain=None if integer and n >= 1 else lambda x: x > 0, domain_text="x > 0")


def scale(a: float) -> Op:
    """x ↦ a·x with [a]."""
    return unary(f"scale{a:g}", lambda x: a * x, lambda x: a * jnp.ones_like(x), label=f"x ↦ {a:g}x")


# --------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Node:
    """A value of the graph: ``op`` is ``"input"``, ``"const"``, an operation name or an Op."""

    name: str
    op: str | Op
    inputs: tuple[str, ...] = ()
    value: float | None = None  # constants only


@dataclasses.dataclass(frozen=True, eq=False)
class Var:
    """A handle on a node while building a graph: ``x * y + z`` adds ⊗ and ⊕ nodes."""

    graph: Graph
    name: str

    def __add__(self, other):
        return self.graph.apply(ADD, self, other)

    def __radd__(self, other):
        return self.graph.apply(ADD, other, self)

    def __mul__(self, other):
        return self.graph.apply(MUL, self, other)

    def __rmul__(self, other):
        return self.graph.apply(MUL, other, self)

    def __sub__(self, other):
        return self.graph.apply(SUB, self, other)

    def __rsub__(self, other):
        return self.graph.apply(SUB, other, self)

    def __truediv__(self, other):
        return self.graph.apply(DIV, self, other)

    def __rtruediv__(self, other):
        return self.graph.apply(DIV, other, self)

    def __repr__(self) -> str:
        return f"Var({self.name!r})"


def _name(node: Var | str) -> str:
    return node.name if isinstance(node, Var) else node


def _float_array(v: ArrayLike, what: str = "value") -> Array:
    """A float array with a definite (not weak) dtype: Python numbers become the default float
    (float64 under x64), so that no operation silently falls back to float32.

    Raises:
      TypeError: ``v`` is not a real number or an array of real numbers (a string, None, a
        complex number…); the message names ``what`` (``"input 'x'"``) and the value's type.
    """
    dtype = getattr(v, "dtype", None)  # JAX / NumPy arrays and scalars
    if dtype is None:
        try:
            dtype = np.asarray(v).dtype
        except (TypeError, ValueError):  # ragged lists, objects NumPy cannot read
            dtype = np.dtype(object)
    if not (dtype == np.bool_ or jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
        raise TypeError(f"{what} must be a real number or an array of real numbers, got "
                        f"{type(v).__name__} {reprlib.repr(v)} (dtype {dtype})")
    a = jnp.asarray(v)
    dtype = a.dtype if jnp.issubdtype(a.dtype, jnp.floating) else jnp.result_type(float)
    return jnp.asarray(v, dtype=dtype)


def _resolve(n: Node) -> Op:
    if isinstance(n.op, Op):
        return n.op
    if n.op in OPS:
        return OPS[n.op]
    known = ", ".join(sorted(OPS))
    raise ValueError(f"node {n.name!r}: unknown operation {n.op!r} (known: {known}; or pass an Op)")


class Graph:
    """A computation graph (L463–499): named nodes, each an input, a constant or an operation
    of earlier nodes. Build it with :meth:`input`, :meth:`constant`, :meth:`apply` (or ``+``,
    ``*`` on the returned handles), or all at once with :meth:`from_spec`."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    # -- building ---------------------------------------------------------------------------
    def _add(self, node: Node) -> Var:
        if node.name in self.nodes:
            raise ValueError(f"the graph already has a node named {node.name!r}")
        self.nodes[node.name] = node
        return Var(self, node.name)

    def _fresh(self, prefix: str) -> str:
        k = len(self.nodes)
        while f"{prefix}{k}" in self.nodes:
            k += 1
        return f"{prefix}{k}"

    def input(self, name: str) -> Var:
        return self._add(Node(name, "input"))

    def inputs(self, *names: str) -> tuple[Var, ...]:
        return tuple(self.input(n) for n in names)

    def constant(self, value: float, name: str | None = None) -> Var:
        return self._add(Node(name or self._fresh("c"), "const", value=float(value)))

    def apply(self, op: str | Op, *args: Var | str | float, name: str | None = None) -> Var:
        """The node ``op(*args)``; numbers become constant nodes (``3 ⊗ x`` for exp(3x), L641)."""
        names = tuple(
            self.constant(a).name if isinstance(a, (int, float)) else _name(a) for a in args
        )
        node = Node(name or self._fresh("v"), op, names)
        self._check(node)
        return self._add(node)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Graph:
        """A graph from ``{name: "input" | number | (op, input names…)}``, in any order::

            Graph.from_spec({"x": "input", "u": ("exp", "x"), "v": ("ln", "x"), "F": ("mul", "u", "v")})

        Inputs may be referred to before they are defined; :meth:`order` checks the result
        (unknown nodes or operations, wrong number of inputs, cycles).
        """
        g = cls()
        for name, entry in spec.items():
            if isinstance(entry, str) and entry == "input":
                g.nodes[name] = Node(name, "input")
            elif isinstance(entry, (int, float)):
                g.nodes[name] = Node(name, "const", value=float(entry))
            elif isinstance(entry, (tuple, list)) and entry:
                g.nodes[name] = Node(name, entry[0], tuple(entry[1:]))
            else:
                raise ValueError(f"node {name!r}: expected 'input', a number or (op, inputs…), got {entry!r}")
        return g

    # -- checking -----------------------------------------------------------------------------
    def op(self, node: Var | str) -> Op:
        """The operation of an operation node (resolving its name)."""
        return _resolve(self.nodes[_name(node)])

    def _check(self, n: Node) -> None:
        if n.op in ("input", "const"):
            return
        op = _resolve(n)
        if len(n.inputs) != op.arity:
            raise ValueError(f"node {n.name!r}: operation {op.name!r} takes {op.arity} input(s), got {len(n.inputs)}")
        for i in n.inputs:
            if i not in self.nodes:
                raise ValueError(f"node {n.name!r} uses {i!r}, which is not a node of the graph")

    def order(self) -> list[str]:
        """The nodes in an order where every node comes after its inputs (topological order).

        Raises:
          ValueError: a node uses an unknown node or operation, has the wrong number of
            inputs, or the graph has a cycle (the message lists it: ``a → b → a``).
        """
        for n in self.nodes.values():
            self._check(n)
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        order: list[str] = []

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = path[path.index(name):] + [name]
                raise ValueError(f"the graph has a cycle: {' → '.join(reversed(cycle))}")
            state[name] = 1
            for i in self.nodes[name].inputs:
                visit(i, path + [name])
            state[name] = 2
            order.append(name)

        for name in self.nodes:
            visit(name, [])
        return order

    @property
    def input_names(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.op == "input"]

    # -- evaluating ---------------------------------------------------------------------------
    def forward(self, inputs: Mapping[Var | str, ArrayLike]) -> Evaluation:
        """Forward pass (L481–531): every node's value, and every edge's local derivative.

        Raises:
          TypeError: an input value that is not a real number or an array of real numbers
            (the message names the input and the value's type).
          ValueError: a missing or unknown input value; a node evaluated outside its domain
            (ln or √ of a non-positive number: the message names the node); a value that is
            not finite (overflow).
        """
        given = {_name(k): _float_array(v, f"input {_name(k)!r}") for k, v in inputs.items()}
        order = self.order()
        missing = [n for n in self.input_names if n not in given]
        unknown = [n for n in given if n not in self.input_names]
        if missing or unknown:
            raise ValueError(f"inputs of the graph: {self.input_names}; missing values for {missing}, "
                             f"values for unknown inputs {unknown}")
        values: dict[str, Array] = {}
        local: dict[tuple[str, int], Array] = {}
        for name in order:
            n = self.nodes[name]
            if n.op == "input":
                values[name] = given[name]
                continue
            if n.op == "const":
                values[name] = _float_array(n.value)
                continue
            op, args = self.op(name), [values[i] for i in n.inputs]
            where = f"node {name!r} = {op.name}({', '.join(n.inputs)})"
            if op.domain is not None:
                ok = np.asarray(op.domain(*args))
                if not ok.all():
                    bad = [float(np.broadcast_to(np.asarray(a), ok.shape)[~ok].flat[0]) for a in args]
                    raise ValueError(f"{where} is evaluated outside its domain ({op.domain_text}): "
                                     f"inputs {dict(zip(n.inputs, bad, strict=True))}")
            values[name] = op.fn(*args)
            for slot, partial in enumerate(op.partials):
                local[name, slot] = partial(*args)
            results = {"value": values[name]}
            results.update({f"[∂{name}/∂{n.inputs[s]}]": local[name, s] for s in range(op.arity)})
            for what, v in results.items():
                if not np.isfinite(np.asarray(v)).all():
                    at = {i: np.asarray(a).tolist() for i, a in zip(n.inputs, args, strict=True)}
                    raise ValueError(f"{where}: {what} is not finite ({np.asarray(v)}) at inputs {at}")
        return Evaluation(self, order, values, local)

    def as_function(self, output: Var | str, inputs: Sequence[str] | None = None) -> Callable[..., Array]:
        """The graph's output as a plain function of its inputs (positional, in ``inputs``
        order), built from the same operations: the library side, for ``jax.grad``."""
        names = list(inputs) if inputs is not None else self.input_names
        order, out = self.order(), _name(output)

        def fn(*args: ArrayLike) -> Array:
            values = dict(zip(names, args, strict=True))
            for name in order:
                n = self.nodes[name]
                if n.op == "const":
                    values[name] = _float_array(n.value)
                elif n.op != "input":
                    values[name] = self.op(name).fn(*(values[i] for i in n.inputs))
            return values[out]

        return fn


@dataclasses.dataclass
class Evaluation:
    """The forward pass: ``values[node]`` and ``local[(node, i)]`` = [∂node/∂(its i-th input)]."""

    graph: Graph
    order: list[str]
    values: dict[str, Array]
    local: dict[tuple[str, int], Array]

    def __getitem__(self, node: Var | str) -> Array:
        return self.values[_name(node)]


@dataclasses.dataclass
class Derivatives:
    """{{dF/dnode}} for the nodes F depends on, and how many multiplications it took."""

    output: str
    values: dict[str, Array]
    multiplications: int

    def __getitem__(self, node: Var | str) -> Array:
        return self.values[_name(node)]


# --------------------------------------------------------------------------------------------
# Derivatives: the paths (Bilan) and the reverse sweep (dérivées séquentielles)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PathTerm:
    """One path from F back to a node: its nodes (F first) and local derivatives (F's edge
    first), and their product {{…}} computed from the right end of the graph (L564)."""

    nodes: tuple[str, ...]
    factors: tuple[Array, ...]
    product: Array


def path_terms(ev: Evaluation, output: Var | str, node: Var | str) -> list[PathTerm]:
    """The terms of the Bilan (L657–663): one per path from ``output`` back to ``node``.

    The number of paths can grow exponentially with the depth of a graph that reuses values:
    this is the book's hand method, :func:`reverse_sweep` is the efficient one.
    """
    target, terms = _name(node), []

    def walk(name: str, nodes: tuple[str, ...], factors: tuple[Array, ...]) -> None:
        if name == target:
            product = jnp.ones_like(ev.values[_name(output)])
            for f in factors:  # right to left: {{1}} × [last edge] × … (L564)
                product = product * f
            terms.append(PathTerm(nodes, factors, product))
            return
        for slot, i in enumerate(ev.graph.nodes[name].inputs):
            walk(i, nodes + (i,), factors + (ev.local[name, slot],))

    walk(_name(output), (_name(output),), ())
    return terms


def derivatives_by_paths(ev: Evaluation, output: Var | str, nodes: Sequence[Var | str] | None = None) -> Derivatives:
    """{{dF/dnode}} = Σ over paths of the product of local derivatives (the Bilan, L657–663),
    for ``nodes`` (default: every node F depends on). Counts one multiplication per factor
    (starting from {{1}}): n(n+1)/2 for all the sequential derivatives of a chain (L700)."""
    out = _name(output)
    wanted = [_name(n) for n in nodes] if nodes is not None else _ancestors(ev.graph, out)
    values, mults = {}, 0
    for name in wanted:
        terms = path_terms(ev, out, name)
        total = jnp.zeros_like(ev.values[out])
        for t in terms:
            total = total + t.product
            mults += len(t.factors)
        values[name] = total
    return Derivatives(out, values, mults)


def reverse_sweep(ev: Evaluation, output: Var | str) -> Derivatives:
    """Dérivées séquentielles (L665–700): {{dF/dF}} = 1, then, from right to left,
    {{dF/dxᵢ}} = Σ_{nodes v using xᵢ} {{dF/dv}} × [∂v/∂xᵢ] — one multiplication per edge
    (n for a chain of n functions). Covers every node F depends on (inputs, constants,
    intermediate values)."""
    out = _name(output)
    keep = set(_ancestors(ev.graph, out))
    adjoint: dict[str, Array] = {out: jnp.ones_like(ev.values[out])}
    mults = 0
    for name in reversed(ev.order):
        if name not in keep:
            continue
        for slot, i in enumerate(ev.graph.nodes[name].inputs):
            term = adjoint[name] * ev.local[name, slot]
            mults += 1
            adjoint[i] = adjoint[i] + term if i in adjoint else term
    return Derivatives(out, {n: adjoint[n] for n in ev.order if n in keep}, mults)


def _ancestors(graph: Graph, output: str) -> list[str]:
    """``output`` and every node it depends on, in graph order."""
    seen, stack = set(), [output]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph.nodes[name].inputs)
    return [n for n in graph.nodes if n in seen]


def chain(*ops: str | Op, input_name: str = "x") -> tuple[Graph, Var, Var]:
    """The graph of F = fₙ ∘ … ∘ f₁ (L665): x₀ → x₁ = f₁(x₀) → … → xₙ; returns (graph, x₀, xₙ)."""
    g = Graph()
    x = v = g.input(input_name)
    for k, op in enumerate(ops, start=1):
        v = g.apply(op, v, name=f"{input_name}{k}")
    return g, x, v


def gradient(ev: Evaluation, output: Var | str, inputs: Sequence[Var | str] | None = None) -> Array:
    """grad F at the evaluated point (chapter 7, L3782): the vector of ∂F/∂xᵢ for the graph's
    inputs (default: all, in the order they were added), each by the reverse sweep; an input F
    does not depend on gets 0. Stacked along a new first axis."""
    names = [_name(i) for i in inputs] if inputs is not None else ev.graph.input_names
    d = reverse_sweep(ev, output)
    out = ev.values[_name(output)]
    return jnp.stack([d.values[n] if n in d.values else jnp.zeros_like(out) for n in names])


# --------------------------------------------------------------------------------------------
# The graphs of chapter 7, §3 Différentiation automatique (L3727–3899)
# --------------------------------------------------------------------------------------------

#: f(x, y) = x²y + sin y, a node of two variables with [∂ₓf] = [2xy] and [∂ᵧf] = [x² + cos y] (L3789–3792).
X2Y_PLUS_SIN_Y = binary("x²y+sin y", lambda x, y: x**2 * y + jnp.sin(y), lambda x, y: 2 * x * y,
                        lambda x, y: x**2 + jnp.cos(y), label="x²y + sin y")


def ln_x2y_plus_sin_y() -> tuple[Graph, Var, Var, Var]:
    """The graph of F(x, y) = ln(x²y + sin y) (L3782–3813): (x, y) → z = x²y + sin y (a node of two
    variables) → F = ln z; [∂F/∂x] = [1/z₀] × [2x₀y₀], [∂F/∂y] = [1/z₀] × [x₀² + cos y₀].
    At (3, 2): z₀ = 18 + sin 2, ∂F/∂x = 12/(18 + sin 2), ∂F/∂y = (9 + cos 2)/(18 + sin 2).
    Returns (graph, x, y, F); the intermediate node is named ``"z"``."""
    g = Graph()
    x, y = g.inputs("x", "y")
    F = g.apply("ln", g.apply(X2Y_PLUS_SIN_Y, x, y, name="z"), name="F")
    return g, x, y, F


def sqrt_exp_times_sin() -> tuple[Graph, Var, Var]:
    """The graph of F(t) = √(exp t · sin t) (L3853–3881), the fan-out F(t) = f(u(t), v(t)) with
    u = exp, v = sin, f = ⊗, then √: t → x = exp t, t → y = sin t, z = x ⊗ y, F = √z.
    F'(t₀) = [1/(2√z₀)]·[y₀]·[exp t₀] + [1/(2√z₀)]·[x₀]·[cos t₀] (L3864): the sum over the two
    outgoing edges of t. At t₀ = 1: F'(1) = e(sin 1 + cos 1)/(2√(e sin 1)) (L3881).
    Returns (graph, t, F); the intermediate nodes are named ``"x"``, ``"y"``, ``"z"``."""
    g = Graph()
    t = g.input("t")
    z = g.apply(MUL, g.apply("exp", t, name="x"), g.apply("sin", t, name="y"), name="z")
    return g, t, g.apply("sqrt", z, name="F")


def t_plus_ln2_plus_inv_sin() -> tuple[Graph, Var, Var]:
    """F(t) = t + (ln t)² + 1/sin t (L3883–3888): t has three outgoing edges and
    F'(t) = 1 + 2 ln t / t − cos t / sin² t is the sum over them. Returns (graph, t, F)."""
    g = Graph()
    t = g.input("t")
    square_ln = g.apply("square", g.apply("ln", t, name="ln t"), name="(ln t)²")
    inv_sin = g.apply("inv", g.apply("sin", t, name="sin t"), name="1/sin t")
    return g, t, g.apply(ADD, g.apply(ADD, t, square_ln, name="s"), inv_sin, name="F")


def t2_ln_t_ln_ln_t() -> tuple[Graph, Var, Var]:
    """F(t) = t² · ln t · ln(ln t) (L3890–3899), with ln t computed once and reused for ln(ln t):
    the derivative is a sum over three paths from F back to t (the edge t → y = ln t splits in
    two). Needs t > 1. Returns (graph, t, F)."""
    g = Graph()
    t = g.input("t")
    y = g.apply("ln", t, name="y")
    p = g.apply(MUL, g.apply("square", t, name="t²"), y, name="t² y")
    return g, t, g.apply(MUL, p, g.apply("ln", y, name="ln y"), name="F")
