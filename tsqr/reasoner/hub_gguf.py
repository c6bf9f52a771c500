"""GGUF files on the Hugging Face hub, named the way llama.cpp's `-hf` names them, fetched into the hub cache.

Usage:
    spec = parse_hub_gguf("bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M")   # or "owner/repo/file.gguf"
    fetched = fetch_hub_gguf(spec)              # downloads once; later (and with HF_HUB_OFFLINE=1) from the cache
    load_reasoner("owner/repo:Q4_K_M")          # what tsqr.reasoner.loading does with such a spec

A released QR checkpoint is usually published as float safetensors (for GPUs) and, by others, as GGUF
quantisations; the GGUF runs on a CPU through llama.cpp several times faster than transformers does. `:QUANT` is
matched case-insensitively against the repository's .gguf file names as a whole word (`Q4_K` is not `Q4_K_M`,
`F16` is not `BF16`); a quantisation split into `-0000k-of-0000n.gguf` shards downloads every shard. The files
go through huggingface_hub into its usual cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, read when called), so they
are shared with every other hub tool; the model's identity is the repository, the file and the hub commit, which
pins the bytes without hashing them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tsqr.hub import hub_offline
from tsqr.reasoner.base import ModelNotFoundError
from tsqr.reasoner.identity import ModelIdentity

_REPO = r"[A-Za-z0-9][\w.-]*/[\w.-]+"
QUANT_SPEC = re.compile(rf"^(?P<repo>{_REPO}):(?P<quant>[A-Za-z0-9_]+)$")
FILE_SPEC = re.compile(rf"^(?P<repo>{_REPO})/(?P<file>[^:\s]+\.gguf)$", re.IGNORECASE)
SHARD = re.compile(r"-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
REVISION = "main"


@dataclass(frozen=True)
class HubGGUFSpec:
    """A parsed spec: the repository and either the quantisation (`:QUANT`) or the file inside it."""

    repo: str
    quant: str | None = None
    filename: str | None = None

    def __str__(self) -> str:
        return f"{self.repo}:{self.quant}" if self.quant else f"{self.repo}/{self.filename}"


@dataclass(frozen=True)
class HubGGUF:
    """A GGUF file in the local hub cache: where it came from (repo, file, commit) and where it is (path)."""

    repo: str
    filename: str
    commit: str
    path: Path

    def identity(self, backend: str) -> ModelIdentity:
        """The cache identity: repo + file + commit, so a new upload of the file is a new model."""
        return ModelIdentity(label=f"{self.repo}/{self.filename}", fingerprint=self.commit, backend=backend)


def parse_hub_gguf(text: str) -> HubGGUFSpec | None:
    """The spec `owner/repo:QUANT` or `owner/repo/file.gguf` names, or None when `text` is neither."""
    if quant := QUANT_SPEC.match(text.strip()):
        return HubGGUFSpec(quant["repo"], quant=quant["quant"])
    if file := FILE_SPEC.match(text.strip()):
        return HubGGUFSpec(file["repo"], filename=file["file"])
    return None


def hub_cache_dir() -> Path:
    """huggingface_hub's cache folder, from the environment as it is now (its constants are read at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_listing(repo: str, cache: Path) -> tuple[str, list[str]] | None:
    """(commit, files) of the cached snapshot `main` points to, or None when the repo is not in the cache."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    ref = folder / "refs" / REVISION
    if not ref.is_file():
        return None
    commit = ref.read_text(encoding="utf-8").strip()
    snapshot = folder / "snapshots" / commit
    files = sorted(path.relative_to(snapshot).as_posix() for path in snapshot.rglob("*") if path.is_file())
    return commit, files


def _online_listing(repo: str) -> tuple[str, list[str]]:
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo, revision=REVISION)
    return str(info.sha), sorted(sibling.rfilename for sibling in info.siblings or [])


def _listing(spec: HubGGUFSpec, cache: Path) -> tuple[str, list[str], bool]:
    """(commit, files, from_cache): the hub's answer, or the cache's when offline or the hub is unreachable."""
    if hub_offline():
        cached = cached_listing(spec.repo, cache)
        if cached is None:
            raise ModelNotFoundError(f"model {str(spec)!r} is not in the hub cache {cache} and HF_HUB_OFFLINE forbids "
                            "downloading it: unset HF_HUB_OFFLINE (or download it once online)")
        return (*cached, True)
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        return (*_online_listing(spec.repo), False)
    except GatedRepoError as error:
        raise ModelNotFoundError(f"hub repository {spec.repo!r} is gated: accept its terms on the hub and log in "
                        f"(`hf auth login`): {_first_line(error)}") from error
    except (RepositoryNotFoundError, RevisionNotFoundError) as error:
        raise ModelNotFoundError(f"hub repository {spec.repo!r} not found (a private one needs `hf auth login`); "
                        f"tried for {str(spec)!r}") from error
    except Exception as error:  # network down, proxy, server error: the cache may still have it
        cached = cached_listing(spec.repo, cache)
        if cached is None:
            raise ModelNotFoundError(f"model {str(spec)!r}: the hub did not answer ({_first_line(error)}) and the repo "
                            f"is not in the hub cache {cache}") from error
        return (*cached, True)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def gguf_files(files: list[str]) -> list[str]:
    """The model GGUFs among a repo's files (multimodal projectors, `mmproj-*`, are not language models)."""
    return [name for name in files if name.lower().endswith(".gguf")
            and not PurePosixPath(name).name.lower().startswith("mmproj")]


def choose_files(spec: HubGGUFSpec, files: list[str]) -> list[str]:
    """The file(s) to fetch for a spec, the file llama.cpp opens first; ModelNotFoundError lists what the repo has."""
    ggufs = gguf_files(files)
    available = f"its GGUF files: {', '.join(ggufs) if ggufs else 'none'}"
    if spec.filename is not None:
        if spec.filename not in files:
            raise ModelNotFoundError(f"{spec.repo} has no file {spec.filename!r} (as a local file it does not exist "
                            f"either); {available}")
        return _with_shards(spec.filename, ggufs)
    word = re.compile(rf"(?<![a-z0-9]){re.escape(spec.quant.lower())}(?![a-z0-9_])")
    matches = [name for name in ggufs if word.search(PurePosixPath(name).name.lower())]
    if not matches:
        raise ModelNotFoundError(f"no GGUF file in {spec.repo} matches quant {spec.quant!r} (case-insensitive); "
                        f"{available}")
    models = sorted({SHARD.sub(".gguf", name) for name in matches})
    if len(models) > 1:
        raise ModelNotFoundError(f"quant {spec.quant!r} matches several GGUF files in {spec.repo}: "
                        f"{', '.join(models)}; name one as {spec.repo}/FILE.gguf")
    return _with_shards(min(matches), ggufs)


def _with_shards(first: str, ggufs: list[str]) -> list[str]:
    """[first] alone, or every shard of a split GGUF starting from shard 1 (llama.cpp opens the first)."""
    shard = SHARD.search(first)
    if not shard:
        return [first]
    stem, count = first[: shard.start()], int(shard["count"])
    names = [f"{stem}-{index:05d}-of-{count:05d}.gguf" for index in range(1, count + 1)]
    missing = [name for name in names if name not in ggufs]
    if missing:
        raise ModelNotFoundError(f"split GGUF {stem} lacks shard(s) {', '.join(missing)} in the repository listing")
    return names


def fetch_hub_gguf(spec: HubGGUFSpec | str) -> HubGGUF:
    """Download (or find in the hub cache) the GGUF a spec names; ModelNotFoundError says what was tried."""
    parsed = parse_hub_gguf(spec) if isinstance(spec, str) else spec
    if parsed is None:
        raise ValueError(f"{spec!r} is not a hub GGUF spec: use owner/repo:QUANT or owner/repo/file.gguf")
    from huggingface_hub import hf_hub_download

    cache = hub_cache_dir()
    commit, files, from_cache = _listing(parsed, cache)
    names = choose_files(parsed, files)
    paths = []
    for name in names:
        try:
            paths.append(Path(hf_hub_download(parsed.repo, name, revision=commit, cache_dir=cache,
                                              local_files_only=from_cache)))
        except Exception as error:  # network, disk full, interrupted: one line, not a stack of HTTP internals
            raise ModelNotFoundError(f"could not fetch {parsed.repo}/{name} (commit {commit[:8]}) into {cache}: "
                            f"{_first_line(error)}") from error
    return HubGGUF(parsed.repo, names[0], commit, paths[0])
