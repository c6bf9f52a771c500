"""Writing a model out: a safetensors checkpoint train/ starts from (`model`), a GGUF file llama.cpp runs (`gguf`).

Usage:
    from tsqr.export import export_gguf, export_model
    export_model("default", Path("checkpoints/start"))            # python -m tsqr export-model
    export_gguf(Path("checkpoints/policy"), Path("policy.gguf"))  # python -m tsqr export-gguf
"""
from tsqr.export.gguf import export_gguf
from tsqr.export.model import export_model

__all__ = ["export_gguf", "export_model"]
