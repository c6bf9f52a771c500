"""Load a BRIGHT domain (queries, judgements, corpus) from wherever a user has it, as tsqr's typed records.

Usage:
    from tsqr.bright import load_domain, check_domain
    domain = load_domain("hub", "biology")                                   # xlangai/BRIGHT via `datasets`
    domain = load_domain("demo", "demo")                                     # the demo corpus tsqr ships
    domain = load_domain("BRIGHT/", "earth-science")                         # a downloaded copy of the hub repo
    domain = load_domain("anserini-tools/", "pony", documents="pony.jsonl")  # Anserini topics+qrels, corpus apart
    domain = load_domain(["examples.parquet", "docs.jsonl.gz"], "mine")      # uploaded files, any BRIGHT-shaped set
    for warning in check_domain(domain).warnings(): print(warning)

Loading refuses data it cannot use (`DataError`, naming file, row and field); `check_domain` reports what is
usable but suspicious (gold documents missing from the corpus, empty documents) so the CLI and the app can warn
without refusing, which matters when a user evaluates on a partial corpus on purpose.
"""
from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tsqr.errors import DataError
from tsqr.bright.files import data_files, detect_format
from tsqr.bright.names import safe_name
from tsqr.bright.sources import (
    Folder,
    Loaded,
    hub_split_files,
    is_anserini_layout,
    is_hub_layout,
    load_anserini_folder,
    load_documents,
    load_files,
    load_from_hub,
    load_hub_folder,
)
from tsqr.bright.bounded import cannot_read
from tsqr.bright.unzip import unpack_zip
from tsqr.data import DEMO_DIR
from tsqr.limits import Limits
from tsqr.records import Document, Domain

__all__ = ["BRIGHT_DOMAINS", "LONG_DOCUMENT_DOMAINS", "DataCheck", "DataError", "canonical_domain",
           "check_domain", "load_domain"]

BRIGHT_DOMAINS: tuple[str, ...] = (
    "biology", "earth_science", "economics", "psychology", "robotics", "stackoverflow", "sustainable_living",
    "leetcode", "pony", "aops", "theoremqa_questions", "theoremqa_theorems",
)
# BRIGHT ships long documents (whole web pages, judged by gold_ids_long) for these domains only.
LONG_DOCUMENT_DOMAINS: tuple[str, ...] = BRIGHT_DOMAINS[:7] + ("pony",)

PathLike = str | Path
Source = PathLike | Sequence[PathLike]


def canonical_domain(name: str) -> str:
    """BRIGHT's underscore name for a domain given either way ("earth-science" -> "earth_science"); names of
    other corpora pass through unchanged once `safe_name` accepts them (they end up in output file names)."""
    cleaned = name.strip()
    if not cleaned:
        raise DataError("empty domain name: give one of " + ", ".join(BRIGHT_DOMAINS) + " or your corpus's name")
    underscored = cleaned.replace("-", "_").lower()
    return underscored if underscored in BRIGHT_DOMAINS else safe_name(cleaned)


def load_domain(
    source: Source,
    domain: str,
    *,
    long: bool = False,
    documents: Source | None = None,
    progress: bool = True,
) -> Domain:
    """Load one domain. `source`: "hub", "demo" (the demo corpus inside the package; a folder named demo is
    `./demo`), a folder (hub layout, Anserini topics/qrels, or plain data files), a zip of such a folder, or one
    or more files (parquet / jsonl / json, maybe .gz; Anserini .tsv + qrels).
    `documents`: corpus file(s) or folder replacing the source's corpus (Anserini folders have none).
    `long`: BRIGHT's long-document setting (long_documents corpus, gold_ids_long judgements)."""
    name = canonical_domain(domain)
    with tempfile.TemporaryDirectory(prefix="tsqr-unzip-") as scratch:
        try:
            loaded = _load_source(source, name, long, progress, Path(scratch) / "source")
            if documents is not None:
                loaded.documents = _load_corpus(documents, name, long, progress, Path(scratch) / "documents")
        except OSError as error:  # a folder or file the readers did not open themselves (listing a folder...)
            raise cannot_read(str(error.filename or source), error) from None
    if long and not any(ex.gold_ids_long for ex in loaded.examples):
        raise DataError(f"{loaded.source}: domain {name!r} has no long-document judgements (gold_ids_long); "
                        f"BRIGHT has them for {', '.join(LONG_DOCUMENT_DOMAINS)}")
    return Domain(name=name, examples=loaded.examples, documents=loaded.documents, source=loaded.source)


def _paths(source: Source) -> list[Path]:
    if isinstance(source, (str, Path)):
        return [Path(source)]
    paths = [Path(item) for item in source]
    if not paths:
        raise DataError("no data given: pass \"hub\", a folder, or files")
    return paths


def _load_source(source: Source, name: str, long: bool, progress: bool, scratch: Path) -> Loaded:
    if isinstance(source, str) and source == "hub":
        if name not in BRIGHT_DOMAINS:
            raise DataError(f"hub: {name!r} is not a BRIGHT domain; choose one of {', '.join(BRIGHT_DOMAINS)}")
        if long and name not in LONG_DOCUMENT_DOMAINS:
            raise DataError(f"hub: domain {name!r} has no long documents; BRIGHT has them for "
                            f"{', '.join(LONG_DOCUMENT_DOMAINS)}")
        return load_from_hub(name, long=long, progress=progress)
    if isinstance(source, str) and source == "demo":
        source = DEMO_DIR
    paths = _paths(source)
    for path in paths:
        if not path.exists():
            raise DataError(f"{path}: no such file or folder (give \"hub\" to download BRIGHT from the Hugging "
                            f"Face hub, or \"demo\" for the demo corpus tsqr ships)")
    if len(paths) > 1:
        return load_files(paths, name, progress=progress)
    path = paths[0]
    if path.is_dir():
        return _load_folder(Folder(path, str(path)), name, long, progress)
    if detect_format(path) == "zip":
        return _load_folder(Folder(unpack_zip(path, scratch), str(path)), name, long, progress)
    return load_files(paths, name, progress=progress)


def _load_folder(folder: Folder, name: str, long: bool, progress: bool) -> Loaded:
    if is_hub_layout(folder.path):
        return load_hub_folder(folder, name, long=long, progress=progress)
    if is_anserini_layout(folder.path):
        return load_anserini_folder(folder, name)
    files = data_files(folder.path)
    if not files:
        raise DataError(f"{folder.shown}: no data found: expected the xlangai/BRIGHT layout (examples/, "
                        f"documents/), Anserini topics/ and qrels/, or parquet/jsonl/json files")
    return load_files(files, name, progress=progress, label=folder.label, shown=folder.shown)


def _load_corpus(documents: Source, name: str, long: bool, progress: bool, scratch: Path) -> list[Document]:
    """Corpus files from paths that may be files, folders (a hub copy or plain files) or zips of those."""
    labels: dict[Path, str] = {}
    for number, path in enumerate(_paths(documents)):
        if not path.exists():
            raise DataError(f"{path}: no such corpus file or folder")
        if path.is_file() and detect_format(path) != "zip":
            labels[path] = str(path)
            continue
        root = path
        if path.is_file():
            root = unpack_zip(path, scratch / str(number), str(path))
        folder = Folder(root, str(path))
        config = "long_documents" if long else "documents"
        found = hub_split_files(root, config, name) if (root / config).is_dir() else data_files(root)
        if not found:
            raise DataError(f"{path}: no corpus files for domain {name!r} (expected {config}/{name}-*.parquet "
                            f"or parquet/jsonl/json files)")
        labels.update((file, folder.label(file)) for file in found)
    return load_documents(list(labels), name, progress=progress, label=labels.__getitem__)


@dataclass
class DataCheck:
    """What is usable but suspicious in a loaded domain; `warnings()` words it for the CLI and the app.

    `missing_gold` maps a query id to its gold ids absent from the corpus (only queries with some missing);
    `missing_excluded` maps a query id to how many of its excluded ids are absent (harmless for scoring, but many
    suggest a corpus from another domain or version)."""

    domain: str
    examples: int
    documents: int
    long: bool = False
    gold_total: int = 0
    missing_gold: dict[str, tuple[str, ...]] = field(default_factory=dict)
    queries_without_gold: list[str] = field(default_factory=list)
    excluded_total: int = 0
    missing_excluded: dict[str, int] = field(default_factory=dict)
    empty_documents: list[str] = field(default_factory=list)
    queries_at_cap: list[str] = field(default_factory=list)
    query_cap: str = ""

    @property
    def missing_gold_per_query(self) -> dict[str, int]:
        return {qid: len(ids) for qid, ids in self.missing_gold.items()}

    @property
    def missing_gold_total(self) -> int:
        return sum(len(ids) for ids in self.missing_gold.values())

    @property
    def missing_excluded_total(self) -> int:
        return sum(self.missing_excluded.values())

    @property
    def ok(self) -> bool:
        return not self.warnings()

    def warnings(self) -> list[str]:
        """One plain sentence per problem, with a few ids as examples."""
        lines = []
        if not self.documents:
            lines.append("no documents loaded, so the corpus was not checked")
        if self.missing_gold:
            qid, ids = next(iter(self.missing_gold.items()))
            lines.append(f"{self.missing_gold_total} of {self.gold_total} gold ids are not in the corpus "
                         f"({len(self.missing_gold)} queries affected, e.g. query {qid}: {', '.join(ids[:2])}); "
                         f"those queries cannot reach full recall")
        if self.queries_without_gold:
            lines.append(f"{len(self.queries_without_gold)} queries have no gold ids and cannot be scored: "
                         f"{', '.join(self.queries_without_gold[:5])}")
        if self.missing_excluded:
            lines.append(f"{self.missing_excluded_total} of {self.excluded_total} excluded ids are not in the corpus "
                         f"({len(self.missing_excluded)} queries): is the corpus from this domain?")
        if self.empty_documents:
            lines.append(f"{len(self.empty_documents)} documents are empty and can never be retrieved: "
                         f"{', '.join(self.empty_documents[:5])}")
        if self.queries_at_cap:
            lines.append(f"{len(self.queries_at_cap)} queries are {self.query_cap} characters long, the most tsqr "
                         f"keeps: longer ones were cut there ({', '.join(self.queries_at_cap[:5])})")
        return lines


def check_domain(domain: Domain, *, long: bool = False) -> DataCheck:
    """Check a loaded domain's judgements against its corpus (`long`: judge by gold_ids_long)."""
    report = DataCheck(domain.name, len(domain.examples), len(domain.documents), long)
    limits = Limits.from_env()
    report.query_cap = limits.describe("query_chars")
    report.queries_at_cap = [ex.id for ex in domain.examples if len(ex.query) == limits.query_chars]
    corpus = {doc.id for doc in domain.documents}
    report.empty_documents = [doc.id for doc in domain.documents if not doc.content.strip()]
    for ex in domain.examples:
        gold = ex.gold_ids_long if long else ex.gold_ids
        report.gold_total += len(gold)
        report.excluded_total += len(ex.excluded_ids)
        if not gold:
            report.queries_without_gold.append(ex.id)
        if not corpus:
            continue
        missing = tuple(doc_id for doc_id in gold if doc_id not in corpus)
        if missing:
            report.missing_gold[ex.id] = missing
        absent = sum(1 for doc_id in ex.excluded_ids if doc_id not in corpus)
        if absent:
            report.missing_excluded[ex.id] = absent
    return report
