"""How many CPU threads a model should use: the cores nobody else is using right now.

Both llama.cpp and PyTorch's CPU kernels split every layer across worker threads that wait for each other at a
barrier, spinning rather than sleeping. When another process holds a core, the thread parked behind it stalls
all the others. Measured on this project's shared 2-core machine (load average about 3): SmolLM2-135M via
llama.cpp wrote 32 tokens in 0.7 s with 1 thread and 6-16 s with 2; via transformers, 2x16 tokens took 1.1 s
with 1 thread and 1.1-13 s with 2. Asking only for idle cores keeps both fast on a busy machine and still uses
every core on an idle one. `GenerationSettings(threads=N)` overrides the guess.
"""
from __future__ import annotations

import os


def idle_cores() -> int:
    """Cores minus the 1-minute load average, rounded, at least one (all cores where load is unknown)."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (OSError, AttributeError):  # Windows has no load average
        return cores
    return max(1, min(cores, round(cores - busy)))


def cpu_threads(requested: int = 0) -> int:
    """The thread count to use: the one requested, or the idle cores when 0."""
    return requested if requested > 0 else idle_cores()
