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

from engine_toys import FORWARD, MLP, STEP, fit, params, toy
from helpers import assert_float32_close

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
    # float32 (helpers, the largest entry as scale): the two processes add their halves of each
    # batch's gradient (gloo) in another order; SGD adds the errors up over the run's
    # 2 epochs × 7 steps (terms per step in engine_toys), the losses then average an epoch
    steps = 2 * 7
    assert_float32_close(got["loss"], hist["loss"], reduction=steps * STEP + FORWARD + 203)
    assert_float32_close(got["val_loss"], hist["val_loss"], reduction=steps * STEP + FORWARD + 50)
    for i, ref in enumerate(params(model)):
        assert_float32_close(got[f"param_{i}"], ref, reduction=steps * STEP, err_msg=f"param_{i}")
