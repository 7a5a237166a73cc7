"""Drawing a computation graph as the book does — chapter 1 *Dérivée* (Derivative), §2
*Dérivation automatique* (figures of L463–700): each node with its value, each edge with its
operation and its local derivative [in brackets, blue], and under each node the derivative of
the output with respect to it {{in double braces, red}}.

Uses matplotlib (imported by the caller's figure); pure layout in :func:`layout`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from deepmath_jax.autodiff.graph import Derivatives, Evaluation, Graph


def layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """Positions: x = depth (longest path from an input), y = inputs spread top to bottom,
    every other node at the mean height of its inputs (nudged when two would overlap)."""
    order = graph.order()
    depth: dict[str, int] = {}
    for name in order:
        ins = graph.nodes[name].inputs
        depth[name] = 1 + max(depth[i] for i in ins) if ins else 0
    leaves = [n for n in order if not graph.nodes[n].inputs]
    pos: dict[str, tuple[float, float]] = {}
    for k, name in enumerate(leaves):
        pos[name] = (0.0, -float(k))
    taken = {p for p in pos.values()}
    for name in order:
        if name in pos:
            continue
        x = float(depth[name])
        y = float(np.mean([pos[i][1] for i in graph.nodes[name].inputs]))
        while (x, y) in taken:
            y -= 1.0
        pos[name] = (x, y)
        taken.add((x, y))
    return pos


def _fmt(v) -> str:
    a = np.asarray(v)
    return f"{float(a):.4g}" if a.ndim == 0 else f"array{a.shape}"


def draw_graph(ax, ev: Evaluation, derivatives: Derivatives | None = None, *,
               names: Mapping[str, str] | None = None, title: str = "",
               pos: Mapping[str, tuple[float, float]] | None = None) -> None:
    """Draw ``ev``'s graph on a matplotlib axis: values, [local derivatives], {{derivatives}}.

    ``names`` renames nodes in the picture (``{"v3": "F"}``); ``pos`` places some nodes by hand
    (``{name: (x, y)}``, the others keep :func:`layout`'s place), e.g. to keep an edge that skips
    columns off the nodes it would cross.
    """
    graph = ev.graph
    pos = {**layout(graph), **dict(pos or {})}
    names = dict(names or {})
    for name, node in graph.nodes.items():
        x1, y1 = pos[name]
        op = graph.op(name) if node.inputs else None
        for slot, i in enumerate(node.inputs):
            x0, y0 = pos[i]
            ax.annotate("", xy=(x1 - 0.08, y1), xytext=(x0 + 0.08, y0),
                        arrowprops=dict(arrowstyle="->", color="tab:red", lw=1.6))
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            edge = op.label.replace("x ↦ ", "") if op.arity == 1 else ""
            ax.text(xm, ym + 0.12, edge, ha="center", va="bottom", fontsize=8)
            ax.text(xm, ym - 0.1, f"[{_fmt(ev.local[name, slot])}]", ha="center", va="top",
                    fontsize=8, color="tab:blue")
        if op is not None and op.arity > 1:
            symbol = op.label or op.name
            if len(symbol) <= 2:  # ⊕, ⊗: a symbol beside the node, as in the book
                ax.text(x1 - 0.32, y1 + 0.22, symbol, ha="center", fontsize=12)
            else:  # a node of several variables (chapter 7): its formula above its value
                ax.text(x1, y1 + 0.42, symbol, ha="center", va="bottom", fontsize=8, style="italic")
        ax.plot([x1], [y1], "o", color="black", ms=4)
        label = names.get(name, name)
        ax.text(x1, y1 + 0.14, f"{label} = {_fmt(ev.values[name])}", ha="center", va="bottom", fontsize=9)
        if derivatives is not None and name in derivatives.values:
            ax.text(x1, y1 - 0.16, f"{{{{{_fmt(derivatives.values[name])}}}}}", ha="center", va="top",
                    fontsize=9, color="tab:red")
    xs, ys = zip(*pos.values(), strict=True)
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
