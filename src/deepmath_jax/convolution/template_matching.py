"""Finding a known motif in a noisy signal or image by correlation — chapter 13 *Convolution
avec Python*, §3.4 *Traitement du signal* (radar, book lines 7265–7312) and §4 *Corrélation en
deux dimensions* (L7315–7348).

The radar emits a pulse g; it receives f = noise + a copy of g starting at some time. The
correlation h of f with g (the convolution without reversing the motif, L7297) peaks where f and
g line up: by Cauchy–Schwarz, a window of the received signal that equals g gives ⟨g, g⟩ = ‖g‖²,
the largest value any window of the same energy can give. The same holds in two dimensions: a
100 × 100 "smiley" hidden in a 500 × 500 image of random pixels is found at the peak of the 2-D
correlation (L7331–7348).

Random draws take an explicit ``jax.random`` key.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from deepmath_jax.convolution.conv1d import as_real_array, correlate, positive_int
from deepmath_jax.convolution.conv2d import convolve2d_fft, rot180


def radar_pulse(length: int = 100) -> Array:
    """The emitted pulse: ``sinc(x) − 0.5`` for 100 points x of [−3.14, 3.14] (the authors'
    ``correlation_1d.py``; ``sinc(x) = sin(πx)/(πx)``)."""
    length = positive_int(length, "pulse length")
    return jnp.sinc(jnp.linspace(-3.14, 3.14, length)) - 0.5


def received_signal(
    key: Array, pulse: ArrayLike, length: int = 1000, start: int = 350, noise_std: float = 0.5
) -> Array:
    """Noise ``noise_std · N(0, 1)`` plus a copy of the pulse at ``start … start + len − 1``
    (L7293: between the abscissae 350 and 450)."""
    g = as_real_array(pulse, "pulse", 1)
    length = positive_int(length, "signal length")
    if not 0 <= start <= length - g.shape[0]:
        raise ValueError(
            f"the pulse (length {g.shape[0]}) must fit in the signal (length {length}) from {start}"
        )
    noise = noise_std * jax.random.normal(key, (length,))
    return noise + jnp.pad(g, (start, length - g.shape[0] - start)).astype(noise.dtype)


def locate_1d(f: ArrayLike, g: ArrayLike) -> tuple[Array, int]:
    """``(h, position)``: h = correlation of f with g (same length as f, L7304), position =
    argmax h — the centre of the copy of g in f."""
    h = correlate(f, g, "same")
    return h, int(jnp.argmax(h))


def smiley(size: int = 100) -> Array:
    """A smiley drawn in gray levels 0–255 (size × size): a white face on black, black eyes and a
    black smile. Drawn here from circles and an arc (the book's own picture is not reused)."""
    size = positive_int(size, "size")
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    c = (size - 1) / 2
    r = np.hypot(x - c, y - c) / size
    face = r < 0.45
    eyes = (np.hypot(x - (c - 0.17 * size), y - (c - 0.12 * size)) / size < 0.07) | (
        np.hypot(x - (c + 0.17 * size), y - (c - 0.12 * size)) / size < 0.07
    )
    mouth = (np.abs(r - 0.27) < 0.035) & (y > c + 0.05 * size)
    icon = np.where(face & ~eyes & ~mouth, 255.0, 0.0)
    return jnp.asarray(icon, jnp.float32)


def hide_motif(
    key: Array,
    icon: ArrayLike,
    shape: tuple[int, int] = (500, 500),
    top_left: tuple[int, int] = (250, 150),
    epsilon: float = 0.2,
) -> tuple[Array, Array]:
    """``(image, motif)``: random pixels N(0, 1) of ``shape`` plus the motif
    ``epsilon · (icon/128 − 1)`` (faint: ±0.2 against noise of standard deviation 1) added with
    its top-left corner at ``top_left`` = (row, column) (L7331–7340)."""
    icon = as_real_array(icon, "icon", 2)
    motif = epsilon * (icon.astype(jnp.float32) / 128 - 1)
    (n, p), (kh, kw), (r, c) = shape, motif.shape, top_left
    if not (0 <= r <= n - kh and 0 <= c <= p - kw):
        raise ValueError(f"a {kh}×{kw} motif at {top_left} does not fit in a {n}×{p} image")
    noise = jax.random.normal(key, (n, p))
    return noise + jnp.pad(motif, ((r, n - kh - r), (c, p - kw - c))), motif


def locate_2d(image: ArrayLike, motif: ArrayLike) -> tuple[Array, tuple[int, int]]:
    """``(h, (row, column))``: the 2-D correlation (same size, through the FFT) and its peak —
    the centre of the hidden motif (L7344–7348).

    The book's correlation, ``convolve2d(image, retourner(motif), 'same')``: for an even-sized
    motif its 'same' window keeps the top-left centring of the book's convolution, one pixel
    from XLA's / scipy's :func:`~deepmath_jax.convolution.conv2d.correlate2d` (bottom-right)."""
    h = convolve2d_fft(image, rot180(motif), "same")
    i = int(jnp.argmax(h))
    return h, (i // h.shape[1], i % h.shape[1])
