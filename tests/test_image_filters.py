"""Chapters 12–13 — image filters on a real photograph, radar and smiley detection by
correlation, bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deepmath_jax.convolution.conv2d import convolve2d
from deepmath_jax.convolution.image_filters import (
    KERNELS,
    apply_filter,
    kernel,
    load_sample_photo,
    rgb_to_gray,
    to_uint8,
)
from deepmath_jax.convolution.template_matching import (
    hide_motif,
    locate_1d,
    locate_2d,
    radar_pulse,
    received_signal,
    smiley,
)
from helpers import assert_float32_close


def test_kernels_of_the_book():
    assert kernel("emboss").tolist() == [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]  # L6907, L7126
    for name in (
        "blur",
        "gaussian_blur",
        "blur5",
        "gaussian_blur5",
        "identity",
        "sharpen",
        "emboss",
    ):
        assert float(kernel(name).sum()) == pytest.approx(1.0, abs=1e-6)  # keep a flat gray level
    for name in (
        "verticals",
        "horizontals",
        "diagonals",
        "edges",
        "edges_laplacian",
        "edges_cross",
    ):
        assert float(kernel(name).sum()) == 0.0  # a flat region gives 0
    np.testing.assert_array_equal(kernel("sharpen"), kernel("identity") - kernel("edges_laplacian"))
    assert kernel("gaussian_blur5")[0].tolist() == pytest.approx(np.array([1, 4, 6, 4, 1]) / 256)
    assert all(k.book_line is None or 6400 < k.book_line < 6910 for k in KERNELS.values())


def test_filters_on_the_photograph():
    photo = load_sample_photo()
    assert photo.shape == (600, 512) and photo.dtype == jnp.float32
    assert 0 <= float(photo.min()) and float(photo.max()) <= 255
    crop = photo[200:264, 200:264]
    np.testing.assert_array_equal(apply_filter(crop, "emboss"), convolve2d(crop, kernel("emboss")))
    # Blur reduces noise (L6829): the blurred noisy image is closer to the clean one.
    noisy = crop + 25.0 * jax.random.normal(jax.random.key(0), crop.shape)
    before = float(jnp.mean((noisy - crop)[1:-1, 1:-1] ** 2))
    after = float(jnp.mean((apply_filter(noisy, "blur") - crop)[1:-1, 1:-1] ** 2))
    assert after < before / 2
    saved = to_uint8(apply_filter(crop, "sharpen"))
    assert saved.dtype == np.uint8 and saved.shape == (64, 64)
    assert to_uint8(np.array([[-5.0, 12.7, 300.0]])).tolist() == [
        [0, 12, 255]
    ]  # clip, then truncate


def test_line_detectors():
    i, j = np.mgrid[0:18, 0:18]
    vertical = np.where(j % 6 == 0, 255.0, 0.0)
    horizontal = vertical.T
    assert float(jnp.abs(apply_filter(vertical, "verticals")[2:-2, 2:-2]).max()) == 6 * 255
    assert float(jnp.abs(apply_filter(horizontal, "verticals")[2:-2, 2:-2]).max()) == 0
    assert float(jnp.abs(apply_filter(horizontal, "horizontals")[2:-2, 2:-2]).max()) == 6 * 255
    assert float(jnp.abs(apply_filter(vertical, "horizontals")[2:-2, 2:-2]).max()) == 0


def test_rgb_to_gray():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 255, 255)
    rgb[1, 1] = (255, 0, 0)
    gray = rgb_to_gray(rgb)
    assert float(gray[0, 0]) == pytest.approx(255.0, abs=1e-3) and float(
        gray[1, 1]
    ) == pytest.approx(0.299 * 255)
    assert float(rgb_to_gray(np.ones((2, 2, 3), np.float32))[0, 0]) == pytest.approx(
        255.0, abs=1e-3
    )


def test_radar_and_smiley_detection():
    pulse = radar_pulse(100)
    for seed in range(3):
        f = received_signal(jax.random.key(seed), pulse, 1000, start=350)
        _, position = locate_1d(f, pulse)
        assert abs(position - 400) <= 5  # the centre of the echo at 350–450 (L7312)
    # Without noise the peak is exactly at the aligned lag, with value ‖g‖² (Cauchy–Schwarz).
    h, position = locate_1d(
        received_signal(jax.random.key(0), pulse, 1000, 350, noise_std=0.0), pulse
    )
    assert position == 400
    # Σ of the 100 products g_m·g_m in two orders (terms ≥ 0: Σ|terms| = ‖g‖²)
    assert_float32_close(h[400], pulse @ pulse, reduction=100, scale=float(pulse @ pulse))
    image, motif = hide_motif(jax.random.key(1), smiley(100), (300, 300), top_left=(120, 40))
    _, (row, col) = locate_2d(image, motif)
    assert (row, col) == (170, 90)  # the motif's centre


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"image \(a 2-D matrix of gray levels\) must be 2-D"):
        apply_filter(np.ones((4, 4, 3)), "blur")
    with pytest.raises(ValueError, match="unknown filter 'sobel'"):
        kernel("sobel")
    with pytest.raises(FileNotFoundError, match="ships with matplotlib"):
        load_sample_photo("no_such_image.png")
    with pytest.raises(ValueError, match="3 or 4 channels"):
        rgb_to_gray(np.ones((4, 4, 2)))
    with pytest.raises(ValueError, match="must fit in the signal"):
        received_signal(jax.random.key(0), radar_pulse(100), 120, start=50)
    with pytest.raises(ValueError, match="does not fit"):
        hide_motif(jax.random.key(0), smiley(100), (150, 150), top_left=(100, 0))
