"""Where generation runs, in words: the cost of a reasoning is only meaningful next to the hardware that paid it.

Usage:
    hardware()      # "CUDA (NVIDIA H200)", "CPU (2 cores)", "ZeroGPU (spaces.GPU)"
"""
from __future__ import annotations

import importlib.util
import os


def zero_gpu_available() -> bool:
    """True on a Space with the `spaces` package (ZeroGPU hardware is chosen in the Space's settings)."""
    return importlib.util.find_spec("spaces") is not None


def hardware() -> str:
    """The accelerator generation would use here; imports torch (call it when a model runs, not at start)."""
    if zero_gpu_available():
        return "ZeroGPU (spaces.GPU)"
    try:
        import torch
    except ImportError:
        return f"CPU ({os.cpu_count()} cores)"
    if torch.cuda.is_available():
        return f"CUDA ({torch.cuda.get_device_name(0)})"
    return f"CPU ({os.cpu_count()} cores)"
