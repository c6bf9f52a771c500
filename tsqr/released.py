"""Reasonings other people released for BRIGHT, fetched once from their public homes at a pinned revision.

Usage:
    from tsqr.released import RELEASED, released_reasonings
    source = released_reasonings("tongsearch-qr-7b", "biology")   # a tsqr.reasonings.ReasoningSource
    source.text_for(example)                                      # TongSearch-QR-7B's reasoning for that query

The method's evidence is public: TongSearch QR released the reasonings of QR-1.5B and QR-7B for every BRIGHT query
(MIT; one JSON object, query text -> reasoning, read by tsqr.reasonings), and BRIGHT publishes GPT-4's and four
other models' reasonings as `<model>_reason` configs of its hub dataset (CC-BY-4.0; parquet rows id -> reasoning).
Showing them costs no generation, so a visitor sees what a trained model writes at once.

Each file is named by a URL that pins a commit (a moved branch cannot change what is shown), downloaded at most
once per file into tsqr's cache (`<cache>/released/<source>/<revision>/<file>`), bounded in size, and checked
against the sha256 recorded below where we could compute it from a copy we hold; a file without a recorded
checksum is trusted on its pinned commit alone (marked "unverified" below). With HF_HUB_OFFLINE=1 (or the network
down) only the cache is read, and a missing file is a ReleasedUnavailable error that says what was tried.
"""
from __future__ import annotations

import hashlib
import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tsqr.bright import BRIGHT_DOMAINS
from tsqr.hub import hub_offline
from tsqr.paths import cache_dir
from tsqr.reasonings import ReasoningSource, load_bright_reasonings, load_tongsearch_json

MAX_BYTES = 32 << 20  # the largest released file is 4.0 MB (TongSearch-QR-1.5B); a bigger answer is refused
TIMEOUT_S = 30

# bigai-nlco/TongSearch-QR on GitHub, data_evaluation/ (named in its README at this commit). The sha256 values were
# computed here from copies whose git blob ids (7ee754bd7bec..., 773d166db2a9...) match the repository's blobs.
TONGSEARCH_COMMIT = "6fc2a634effa5ea4548550637bce3a1c30bc98be"
TONGSEARCH_URL = "https://raw.githubusercontent.com/bigai-nlco/TongSearch-QR/{commit}/data_evaluation/{file}"
# xlangai/BRIGHT on the Hugging Face hub, a main-branch commit holding all five <model>_reason configs. Their
# checksums are unverified: no copy of these parquet files was available to hash.
BRIGHT_COMMIT = "9a93318abd228c8f0f2212792049fcbbef6f8ac8"
BRIGHT_URL = "https://huggingface.co/datasets/xlangai/BRIGHT/resolve/{commit}/{file}"


class ReleasedUnavailable(LookupError):
    """A released file that is neither cached nor downloadable now (offline, network down, bad checksum). Its
    message names the public URL, never a path on this machine: a public app shows it to visitors."""


@dataclass(frozen=True)
class Released:
    """One released reasoning source: how the app labels it, where its file for a domain lives, how to read it."""

    name: str
    label: str
    kind: str  # "tongsearch" (one file, matched by query text) or "bright" (one file per domain, matched by id)
    commit: str
    file: str  # for "bright", a pattern with {domain}
    sha256: str | None = None  # None: unverified (see the module's notes)
    bright_model: str = ""

    def file_for(self, domain: str | None) -> str:
        if self.kind == "tongsearch":
            return self.file
        name = (domain or "").strip().replace("-", "_").lower()  # BRIGHT's spelling, as canonical_domain's
        if name not in BRIGHT_DOMAINS:  # also what keeps a corpus's name out of the URL and the cache path
            raise ReleasedUnavailable(f"{self.label} cover BRIGHT's 12 domains; {domain or 'this corpus'!r} is "
                                      "not one")
        return self.file.format(domain=name)

    def url_for(self, domain: str | None) -> str:
        template = TONGSEARCH_URL if self.kind == "tongsearch" else BRIGHT_URL
        return template.format(commit=self.commit, file=self.file_for(domain))

    def cached_path(self, domain: str | None) -> Path:
        return cache_dir("released") / self.name / self.commit / self.file_for(domain)


def _tongsearch(size: str, sha256: str) -> Released:
    return Released(f"tongsearch-qr-{size.lower()}", f"TongSearch-QR-{size} (trained, released reasonings)",
                    "tongsearch", TONGSEARCH_COMMIT, f"TongSearch-QR-{size}_reasoned_BRIGHT_queries.json", sha256)


def _bright(model: str, shown: str) -> Released:
    return Released(f"bright-{model.lower()}", f"{shown} (BRIGHT's released reasonings)", "bright", BRIGHT_COMMIT,
                    f"{model}_reason/{{domain}}-00000-of-00001.parquet", None, model)


RELEASED: dict[str, Released] = {source.name: source for source in (
    _tongsearch("1.5B", "74a767ee74117578e5c57fdef4eb5147d5d2dbe18b0e494d063812ebcab8df7d"),
    _tongsearch("7B", "5f55b35f8d50266faadf49abd8c6aa719f325a1486405bd435c883cf1a439302"),
    _bright("gpt4", "GPT-4"),
    _bright("claude-3-opus", "Claude 3 Opus"),
    _bright("llama3-70b", "Llama 3 70B"),
)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path) -> None:
    """`url` into `target` through a temporary file, refusing answers beyond MAX_BYTES."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.part-{os.getpid()}-{threading.get_ident()}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer, partial.open("wb") as out:
            written = 0
            while block := answer.read(1 << 20):
                written += len(block)
                if written > MAX_BYTES:
                    raise ReleasedUnavailable(f"{url}: larger than {MAX_BYTES >> 20} MB, refused")
                out.write(block)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


_fetching = threading.Lock()  # one download at a time: two visitors asking for one file fetch it once


def fetch(source: Released, domain: str | None = None) -> Path:
    """The released file for `domain` on disk: from the cache, else downloaded (unless offline) and checked."""
    path, url = source.cached_path(domain), source.url_for(domain)
    with _fetching:
        if not path.is_file():
            if hub_offline():  # the hub's rule forbids this download too
                raise ReleasedUnavailable(f"{source.label}: not in tsqr's cache and HF_HUB_OFFLINE is set, so {url} "
                                          "is not fetched")
            try:
                _download(url, path)
            except urllib.error.HTTPError as error:  # 404, 500: "HTTP Error 404: Not Found"
                raise ReleasedUnavailable(f"{source.label}: could not fetch {url}: {error}") from error
            except urllib.error.URLError as error:  # no network, no such host
                raise ReleasedUnavailable(f"{source.label}: could not fetch {url}: {error.reason}") from error
            except OSError as error:  # a timeout, a full disk: the reason, not a local path
                raise ReleasedUnavailable(f"{source.label}: could not fetch {url} into tsqr's cache: "
                                          f"{error.strerror or type(error).__name__}") from error
        if source.sha256 is not None and (found := _sha256(path)) != source.sha256:
            path.unlink(missing_ok=True)  # the next call fetches it again
            raise ReleasedUnavailable(f"{source.label}: {url} gave a file of sha256 {found}, expected "
                                      f"{source.sha256}; deleted")
    return path


@lru_cache(maxsize=16)
def released_reasonings(name: str, domain: str | None = None) -> ReasoningSource:
    """The reasonings `RELEASED[name]` holds for `domain` (TongSearch's one file covers every domain: give None).

    Kept in memory once read (16 sources at most): each file is a few MB and every visitor shares it.
    """
    source = RELEASED.get(name)
    if source is None:
        raise ValueError(f"unknown released reasonings {name!r}: choose one of {', '.join(RELEASED)}")
    path = fetch(source, domain)
    if source.kind == "tongsearch":
        return load_tongsearch_json(path)
    return load_bright_reasonings([path], str(domain), source.bright_model)
