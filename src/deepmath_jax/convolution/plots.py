"""Figures of the convolution chapters (11–13): a signal above its convolution, an image beside
its filtered version, a small matrix with its coefficients written in.

The layouts follow the book's programs: two stacked plots titled "Entrée f" and "Sortie h = f*g"
(the output in red, L7214–7228); "Image originale" beside "Image sortie" in gray levels
(L7150–7158). Each function returns the matplotlib figure; the caller saves it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from jax.typing import ArrayLike


def signal_figure(
    f: ArrayLike,
    h: ArrayLike,
    *,
    input_title: str = "Entrée f",
    output_title: str = "Sortie h = f*g",
    figsize: tuple[float, float] = (7, 4.5),
    h_offset: int = 0,
) -> plt.Figure:
    """The input f (blue, top) and the output h (red, bottom), as the book's ``plt.subplot(2,1,·)``.

    ``h_offset`` is the index of h's first term on f's axis (1 for a 'valid' output of a
    3-term motif), so that both plots share their abscissae.
    """
    f, h = np.asarray(f), np.asarray(h)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=figsize, sharex=True)
    fig.subplots_adjust(hspace=0.5)
    ax1.plot(np.arange(len(f)), f, color="tab:blue", marker="o" if len(f) <= 20 else None)
    ax1.set_title(input_title)
    ax2.plot(np.arange(len(h)) + h_offset, h, color="red", marker="o" if len(h) <= 20 else None)
    ax2.set_title(output_title)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return fig


def before_after_figure(
    before: ArrayLike,
    after: ArrayLike,
    *,
    titles: Sequence[str] = ("Image originale", "Image sortie"),
    clip: bool = True,
    figsize: tuple[float, float] = (10, 5),
) -> plt.Figure:
    """Two gray-level images side by side (L7150–7158). With ``clip``, the output is shown as it
    is saved: clipped to [0, 255] (L7170)."""
    a, b = np.asarray(before), np.asarray(after)
    fig, axes = plt.subplots(1, 2, figsize=figsize)
    axes[0].imshow(a, cmap="gray", vmin=0, vmax=255)
    axes[1].imshow(
        np.clip(b, 0, 255) if clip else b,
        cmap="gray",
        vmin=0 if clip else None,
        vmax=255 if clip else None,
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.axis("off")
    return fig


def matrix_panel(
    ax: plt.Axes, M: ArrayLike, title: str, *, fmt: str = "{:g}", cmap: str = "Blues"
) -> None:
    """Draw a small matrix with its coefficients written in each cell."""
    m = np.asarray(M, dtype=float)
    ax.imshow(m, cmap=cmap)
    span = float(np.ptp(m)) or 1.0
    for (i, j), v in np.ndenumerate(m):
        dark = (v - m.min()) / span > 0.6
        ax.text(
            j,
            i,
            fmt.format(v),
            ha="center",
            va="center",
            fontsize=9,
            color="white" if dark else "black",
        )
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def matrices_figure(
    matrices: Sequence[ArrayLike], titles: Sequence[str], *, fmt: str = "{:g}", width: float = 3.2
) -> plt.Figure:
    """Several matrices in a row (e.g. A, M, turned M, A * M)."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(width * len(matrices), width))
    axes = np.atleast_1d(axes)
    for ax, M, title in zip(axes, matrices, titles, strict=True):
        matrix_panel(ax, M, title, fmt=fmt)
    fig.tight_layout()
    return fig
