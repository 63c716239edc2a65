"""Compiled CPU kernels run without the GIL (``compiled.release_gil_in_kernels``).

A replica's event loop and its other model instances need the GIL while one instance
computes; a generated kernel that kept it would stall them for the kernel's whole run.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from modelyard.runtimes.compiled import compile_module

ELEMENTS = 48_000_000  # one fused element-wise kernel over ~200 MB: tens to hundreds of ms


@pytest.fixture
def one_thread() -> Any:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's compiler imports torch.jit
def test_other_threads_run_while_a_compiled_kernel_computes(one_thread: None) -> None:
    import torch

    class Heavy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x.sin() * x.cos() + x.tanh()).exp()  # one generated, fused kernel

    x = torch.randn(ELEMENTS)
    compiled = compile_module(Heavy(), lambda c: c(x[:1000]))
    assert compiled is not None
    with torch.inference_mode():
        assert torch.allclose(compiled(x[:1000]), Heavy()(x[:1000]), atol=1e-5)
        started = time.perf_counter()
        compiled(x)
        alone_s = time.perf_counter() - started
        assert alone_s > 0.05  # long enough for a held GIL to show below

        worker = threading.Thread(target=lambda: [compiled(x) for _ in range(3)])
        gaps = []
        worker.start()
        while worker.is_alive():
            tick = time.perf_counter()
            time.sleep(0.001)  # waking up needs the GIL
            gaps.append(time.perf_counter() - tick)
        worker.join()
    assert len(gaps) > 10
    assert max(gaps) < alone_s / 2, (max(gaps), alone_s)
