"""Compiled forward graphs for serving (``deploy --compile``).

A runtime that can compile hands its torch module here: ``torch.compile`` with the
inductor backend, dynamic shapes, and the weights frozen into the graph as constants, so
that matmuls run on pre-packed weights and the element-wise work between them (bias, GELU,
layer norm, residual adds) is fused into generated kernels. Compilation happens at load,
inside ``warm_up``, which the runtime uses to run every shape family it will meet (one row
and several rows); the replica then calls ``stop_recompiling`` so that an input that would
need a new graph runs eagerly instead of stalling its batch for seconds of compilation.
The generated CPU kernels run without the GIL (``release_gil_in_kernels``), so one
instance's fused kernels do not stall the replica's event loop or its other instances.

Compilation is an optimization, never a requirement: any failure leaves the runtime eager
(``compile_module`` returns None) and the replica keeps serving. Kernels are compiled for
the process's torch thread count at that moment, so the replica compiles only after it has
shared its cores out among its model instances. Inductor's on-disk cache makes a later
compile of the same model on the same machine several times faster.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

RECOMPILE_LIMIT = 64  # graphs per function: several instances × a few shape families each


_HOLDS_GIL = "kernel({}); Py_RETURN_NONE;"
_RELEASES_GIL = ("{{ auto run = std::bind(kernel, {}); Py_BEGIN_ALLOW_THREADS run(); "
                 "Py_END_ALLOW_THREADS }} Py_RETURN_NONE;")


def release_gil_in_kernels() -> bool:
    """Make inductor's generated CPU kernels run without the GIL; say whether they do.

    The kernels' Python bindings call them with the GIL held, so while one instance runs a
    fused kernel neither the other instances nor the replica's event loop can run Python.
    The arguments (raw pointers and sizes) are bound while the GIL is held, then the kernel
    runs without it, as every aten op does. Only applied to the binding this torch ships.
    """
    from torch._inductor import codecache

    cache: Any = getattr(codecache, "CppPythonBindingsCodeCache", None)
    entry = getattr(cache, "call_entry_function", None)
    if entry == _RELEASES_GIL:
        return True
    if entry != _HOLDS_GIL or "#include <Python.h>" not in getattr(cache, "suffix_template", ""):
        return False  # another torch: its bindings are left as they are
    cache.call_entry_function = _RELEASES_GIL
    cache.suffix_template = cache.suffix_template.replace(
        "#include <Python.h>", "#include <Python.h>\n#include <functional>", 1)
    return True


def compile_module(module: Any, warm_up: Callable[[Any], None]) -> Any | None:
    """``module`` compiled for inference and warmed up by ``warm_up(compiled)``; None on failure."""
    import torch
    import torch._dynamo.config as dynamo_config
    import torch._inductor.config as inductor_config

    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, RECOMPILE_LIMIT)
    started = time.perf_counter()
    try:
        logger.info("compiling", extra={"kernels_release_gil": release_gil_in_kernels()})
        compiled = torch.compile(module, dynamic=True)
        with inductor_config.patch(freezing=True):
            warm_up(compiled)
    except Exception as exc:  # no compiler, an unsupported op, a broken cache: stay eager
        logger.warning("compilation failed; serving eagerly",
                       extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
        return None
    logger.info("model compiled", extra={"seconds": round(time.perf_counter() - started, 1)})
    return compiled


def stop_recompiling() -> None:
    """From now on, an input no compiled graph covers runs eagerly instead of compiling."""
    import torch

    torch.compiler.set_stance("eager_on_recompile")
