"""One system's run on one domain, and where finished runs are kept so that a rerun computes only what is new.

Usage:
    store = RunStore(out_dir / "runs")
    found = store.load(system.key, domain.name, domain_fingerprint(domain))   # None: compute it
    store.save(SystemRun(...))            # runs/<system key>/<domain>.json, and the run as <domain>.trec

A stored run is used only when its system key and its domain's fingerprint (every query, judgement, reasoning
field and document) both match, so a changed corpus, a different --limit or a changed model never reuses a
stale score. A file that cannot be read is recomputed, not trusted.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tsqr.bm25.store import corpus_fingerprint
from tsqr.errors import DataError
from tsqr.evaluate.scoring import ReasoningCost
from tsqr.records import Domain, Run
from tsqr.trec import read_run, write_run

STORE_FORMAT = 1


def domain_fingerprint(domain: Domain) -> str:
    """A hash of everything a domain's scores depend on: examples (ids, queries, reasoning fields, judgements,
    excluded ids) and documents (ids and contents, in order)."""
    examples = json.dumps([[ex.id, ex.query, ex.reasoning, ex.gold_ids, ex.gold_ids_long, ex.excluded_ids]
                           for ex in domain.examples], ensure_ascii=False)
    header = hashlib.sha256(examples.encode("utf-8", "surrogatepass")).hexdigest()
    return corpus_fingerprint(domain.documents, f"tsqr-runs:{header}")


@dataclass
class SystemRun:
    """What one system did on one domain: the text searched per query, its run, per-query and mean scores, the
    reasonings behind them and what they cost (None: not generated here)."""

    label: str
    key: str
    domain: str
    fingerprint: str
    searched: dict[str, str]
    run: Run
    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]
    reasonings: dict[str, str] = field(default_factory=dict)
    missing_reasoning: list[str] = field(default_factory=list)
    cost: ReasoningCost | None = None
    reused: bool = False


def _safe(name: str) -> str:
    """A file name for a domain: domain names are checked by tsqr.bright, this keeps a store robust anyway."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).lstrip(".")
    return cleaned or "_"


class RunStore:
    """Finished runs under `root/<system key>/<domain>.{json,trec}`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _paths(self, key: str, domain: str) -> tuple[Path, Path]:
        folder = self.root / key
        return folder / f"{_safe(domain)}.json", folder / f"{_safe(domain)}.trec"

    def load(self, key: str, domain: str, fingerprint: str) -> SystemRun | None:
        """The stored run of system `key` on `domain`, when it was computed on the same data."""
        meta_path, run_path = self._paths(key, domain)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("format") != STORE_FORMAT or meta.get("key") != key or meta.get("domain") != domain \
                    or meta.get("fingerprint") != fingerprint:
                return None
            run = read_run(run_path)
            cost = ReasoningCost(**meta["cost"]) if meta.get("cost") else None
            return SystemRun(meta["label"], key, domain, fingerprint, meta["searched"], run, meta["per_query"],
                             meta["mean"], meta.get("reasonings", {}), meta.get("missing_reasoning", []), cost,
                             reused=True)
        except (OSError, ValueError, KeyError, TypeError, DataError):
            return None

    def save(self, run: SystemRun) -> None:
        meta_path, run_path = self._paths(run.key, run.domain)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        write_run(run.run, run_path, tag=f"tsqr-{run.key}")
        meta = {"format": STORE_FORMAT, "label": run.label, "key": run.key, "domain": run.domain,
                "fingerprint": run.fingerprint, "mean": run.mean, "per_query": run.per_query,
                "searched": run.searched, "reasonings": run.reasonings, "missing_reasoning": run.missing_reasoning,
                "cost": None if run.cost is None else {
                    "reasonings": run.cost.reasonings, "new_tokens": run.cost.new_tokens,
                    "seconds": run.cost.seconds, "from_cache": run.cost.from_cache, "hardware": run.cost.hardware}}
        partial = meta_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        partial.replace(meta_path)  # the meta file last: a run without it is not a run
