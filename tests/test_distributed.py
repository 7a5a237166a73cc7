"""Two processes joined by ``jax.distributed`` (coordinator bound to 127.0.0.1, gloo CPU
collectives, one CPU device each) train as one process does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import optax
import pytest
from flax import nnx

from engine_toys import MLP, fit, params, toy

WORKER = Path(__file__).with_name("distributed_worker.py")
SRC = Path(__file__).resolve().parent.parent / "src"
TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get(
        "PYTHONPATH", "")]), "JAX_PLATFORMS": "cpu"}
    out = tmp_path / "two.npz"
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), str(out), "2", str(i), str(port)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
        for i in range(2)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT_S)[0])
    except subprocess.TimeoutExpired:
        pytest.fail(f"the 2-process run did not finish in {TIMEOUT_S} s")
    finally:
        for p in procs:  # only the processes started here, by their own group id
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]

    got = np.load(out)
    assert int(got["processes"]) == 2 and int(got["devices"]) == 2
    x, y = toy()
    model = MLP(rngs=nnx.Rngs(0))
    hist = fit(model, (x, y), epochs=2, tx=optax.sgd(0.3), validation=(x[:50], y[:50]))
    np.testing.assert_allclose(got["loss"], hist["loss"], rtol=2e-5)
    np.testing.assert_allclose(got["val_loss"], hist["val_loss"], rtol=2e-5)
    for i, ref in enumerate(params(model)):
        np.testing.assert_allclose(got[f"param_{i}"], ref, atol=2e-5, rtol=2e-5)
