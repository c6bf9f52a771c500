"""Where a BRIGHT domain can come from, and how each place is read: the hub, a downloaded copy of the hub
repository, Anserini's topics and qrels, or files a user uploads.

Each loader returns the same `Loaded` bundle (examples, documents, a description of the source), so
`tsqr.bright.load_domain` only has to pick the loader and apply the rules common to all of them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tsqr.errors import DataError
from tsqr.bright.files import (
    TABLE_FORMATS,
    Table,
    detect_format,
    max_rows,
    too_many_rows,
    read_exclusions,
    read_qrels,
    read_table,
    read_topics_tsv,
)
from tsqr.bright.rows import documents_from_tables, examples_from_tables, examples_from_topics, table_kind
from tsqr.limits import Limits
from tsqr.records import Document, Example

HUB_REPO = "xlangai/BRIGHT"
Labeller = Callable[[Path], str]  # how a file is named in messages


@dataclass
class Loaded:
    """What one source yields before it becomes a `Domain`."""

    examples: list[Example]
    documents: list[Document] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True)
class Folder:
    """A folder and how messages name it: an unpacked zip is shown as the zip, not as a temporary folder."""

    path: Path
    shown: str

    def label(self, path: Path) -> str:
        return f"{self.shown}/{path.relative_to(self.path).as_posix()}"


class TableReader:
    """`read_table` for one load, counting rows across every file it reads: each file is capped as it streams
    (tsqr.bright.files), and this stops a zip of many shards that are each within the cap."""

    def __init__(self) -> None:
        self.limits = Limits.from_env()
        self.rows = 0

    def __call__(self, path: Path, label: str, kind: str | None = None) -> Table:
        table = read_table(path, label, kind)
        self.rows += len(table.rows)
        most = self.limits.examples + self.limits.documents
        if self.rows > most:
            raise DataError(f"{label}: the files of this domain hold more than {most:,} rows together: refused "
                            f"(a domain holds at most {self.limits.describe('documents')} documents and "
                            f"{self.limits.describe('examples')} examples)")
        return table


def anserini_name(domain: str) -> str:
    """Anserini spells BRIGHT's domains with hyphens (earth-science, theoremqa-questions)."""
    return domain.replace("_", "-")


def _name_variants(domain: str) -> set[str]:
    return {domain.lower(), anserini_name(domain).lower()}


# ---------------------------------------------------------------- the hub and its folder layout

def read_hub_split(config: str, domain: str, repo: str = HUB_REPO) -> Table:
    """One split of one config of a hub dataset (e.g. examples/biology) as a table, via `datasets`.

    `repo` may also be a local folder that `datasets` can load. Every failure (offline, no such config or
    split, HTTP errors: the hub client raises many types) becomes one `DataError` that says what to do instead.
    """
    try:
        import datasets
    except ImportError:
        raise DataError("loading BRIGHT from the hub needs the 'datasets' package (pip install datasets)") from None
    label = f"hub {repo} {config}/{domain}"
    try:
        split = datasets.load_dataset(repo, config, split=domain)
    except Exception as error:  # noqa: BLE001 - the hub client raises many unrelated types
        reason = (str(error).strip().splitlines() or [""])[0]  # hub errors run over many lines
        raise DataError(
            f"{label}: could not be loaded ({type(error).__name__}: {reason}). Without network access, download "
            f"the dataset elsewhere (huggingface-cli download {repo} --repo-type dataset --local-dir DIR) and "
            f"pass that folder, or upload the domain's files") from None
    if len(split) > max_rows(Limits.from_env()):
        raise too_many_rows(label, Limits.from_env())
    return Table(label, split.to_list())


def load_from_hub(domain: str, *, long: bool = False, progress: bool = True, repo: str = HUB_REPO) -> Loaded:
    """BRIGHT's own loading: `load_dataset(repo, "examples")[domain]` and the matching (long) documents."""
    examples = examples_from_tables([read_hub_split("examples", domain, repo)])
    corpus = read_hub_split("long_documents" if long else "documents", domain, repo)
    return Loaded(examples, documents_from_tables([corpus], progress=progress), f"hub {repo}")


def hub_split_files(folder: Path, config: str, domain: str) -> list[Path]:
    """Files of one split in a copy of the hub repository: `<config>/<domain>-00000-of-00001.parquet` on the main
    branch, `<config>/<domain>/0000.parquet` on the parquet-conversion branch; JSONL/JSON exports also accepted."""
    base = folder / config
    candidates = [*base.glob(f"{domain}-*"), *base.glob(f"{domain}.*"), *(base / domain).glob("*")]
    return sorted(path for path in candidates if path.is_file() and _table_format(path) is not None)


def _table_format(path: Path) -> str | None:
    try:
        kind = detect_format(path)
    except DataError:
        return None
    return kind if kind in TABLE_FORMATS else None


def is_hub_layout(folder: Path) -> bool:
    return (folder / "examples").is_dir()


def load_hub_folder(folder: Folder, domain: str, *, long: bool = False, progress: bool = True) -> Loaded:
    """A downloaded copy of xlangai/BRIGHT. A missing corpus is not an error here: the caller may supply one."""
    example_files = hub_split_files(folder.path, "examples", domain)
    if not example_files:
        raise DataError(f"{folder.shown}: no examples for domain {domain!r}: expected "
                        f"examples/{domain}-00000-of-00001.parquet (the xlangai/BRIGHT layout)")
    read = TableReader()
    examples = examples_from_tables([read(p, folder.label(p)) for p in example_files])
    config = "long_documents" if long else "documents"
    corpus_files = hub_split_files(folder.path, config, domain)
    documents = documents_from_tables([read(p, folder.label(p)) for p in corpus_files], progress=progress)
    return Loaded(examples, documents, f"{folder.shown} (hub layout)")


# ---------------------------------------------------------------- Anserini topics and qrels

def is_anserini_layout(folder: Path) -> bool:
    return (folder / "topics").is_dir() or any(folder.glob("topics.*"))


def _first_existing(folder: Path, names: Sequence[str]) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_file()), None)


def load_anserini_folder(folder: Folder, domain: str) -> Loaded:
    """Anserini's BRIGHT topics (`topics/`) and qrels (`qrels/`), or both in one folder as in older releases.

    The `-original.jsonl.gz` topics hold every field of BRIGHT's examples and are preferred; the `.tsv.gz` topics
    hold only id and query (newlines flattened), with gold ids then taken from the qrels. No documents here.
    """
    name = anserini_name(domain)
    topics_dir = folder.path / "topics" if (folder.path / "topics").is_dir() else folder.path
    qrels_dir = folder.path / "qrels" if (folder.path / "qrels").is_dir() else topics_dir
    original = _first_existing(topics_dir, [f"topics.bright-{name}-original.jsonl.gz",
                                            f"topics.bright-{name}-original.jsonl"])
    if original is not None:
        return Loaded(examples_from_tables([read_table(original, folder.label(original))]), [],
                      f"{folder.shown} (Anserini topics)")
    tsv = _first_existing(topics_dir, [f"topics.bright-{name}.tsv.gz", f"topics.bright-{name}.tsv"])
    if tsv is None:
        raise DataError(f"{folder.shown}: no topics for domain {domain!r}: expected "
                        f"topics/topics.bright-{name}-original.jsonl.gz or topics/topics.bright-{name}.tsv.gz")
    qrels = _first_existing(qrels_dir, [f"qrels.bright-{name}.txt"])
    if qrels is None:
        raise DataError(f"{folder.label(tsv)}: topics without judgements: expected qrels/qrels.bright-{name}.txt")
    exclusions = _first_existing(qrels_dir, [f"exclude.bright-{name}.txt"])
    examples = _examples_from_anserini_files(tsv, qrels, exclusions, folder.label)
    return Loaded(examples, [], f"{folder.shown} (Anserini topics + qrels)")


def _examples_from_anserini_files(tsv: Path, qrels: Path, exclusions: Path | None, label: Labeller) -> list[Example]:
    topics = read_topics_tsv(tsv, label(tsv))
    relevant = read_qrels(qrels, label(qrels))
    if topics and not any(qid in relevant for qid, _, _ in topics):
        raise DataError(f"{label(qrels)}: none of its query ids match the topics in {label(tsv)} "
                        f"(qrels of another domain?)")
    excluded = read_exclusions(exclusions, label(exclusions)) if exclusions else None
    return examples_from_topics(topics, label(tsv), relevant, excluded)


# ---------------------------------------------------------------- files a user hands over

def _for_domain(items: list, domain: str, name: Callable = lambda path: path.name) -> list:
    """Files named after the domain when some are (a folder holding several domains), else all (shards)."""
    variants = _name_variants(domain)
    named = [item for item in items if any(v in name(item).lower() for v in variants)]
    return named or items


def load_files(paths: Sequence[Path], domain: str, *, progress: bool = True,
               label: Labeller = str, shown: str | None = None) -> Loaded:
    """Examples and documents from files told apart by their columns (examples: query + gold_ids; documents:
    id + content), or Anserini topics TSV + qrels (+ exclusions) told apart by name. Several files of one kind are
    shards of one split, unless some are named after `domain`: then only those are used."""
    tables: dict[str, list[Table]] = {"examples": [], "documents": []}
    anserini: dict[str, list[Path]] = {"tsv": [], "qrels": [], "exclusions": []}
    read = TableReader()
    for path in paths:
        kind = detect_format(path)
        if kind == "zip":
            raise DataError(f"{label(path)}: give a zip on its own (it may hold the whole folder layout)")
        if kind in anserini:
            anserini[kind].append(path)
            continue
        table = read(path, label(path), kind)
        tables[table_kind(table)].append(table)
    example_tables = _tables_for_domain(tables["examples"], domain)
    if example_tables:
        examples = examples_from_tables(example_tables)
    elif anserini["tsv"]:
        examples = _anserini_from_files(anserini, domain, label)
    else:
        raise DataError(f"no examples among {', '.join(label(p) for p in paths)}: one file needs the columns "
                        f"id, query and gold_ids (or give Anserini topics .tsv with qrels)")
    documents = documents_from_tables(_tables_for_domain(tables["documents"], domain), progress=progress)
    return Loaded(examples, documents, shown or ", ".join(label(p) for p in paths))


def _tables_for_domain(tables: list[Table], domain: str) -> list[Table]:
    return _for_domain(tables, domain, name=lambda table: Path(table.label).name)


def _anserini_from_files(files: dict[str, list[Path]], domain: str, label: Labeller) -> list[Example]:
    def one(kind: str, what: str, required: bool = True) -> Path | None:
        chosen = _for_domain(files[kind], domain)
        if len(chosen) > 1:
            raise DataError(f"several {what} files for domain {domain!r}: {', '.join(label(p) for p in chosen)}; "
                            f"give one")
        if not chosen and required:
            raise DataError(f"{label(files['tsv'][0])}: topics without judgements: add the domain's qrels file")
        return chosen[0] if chosen else None

    tsv = one("tsv", "topics")
    return _examples_from_anserini_files(tsv, one("qrels", "qrels"), one("exclusions", "exclusion", False), label)


def load_documents(paths: Sequence[Path], domain: str, *, progress: bool = True,
                   label: Labeller = str) -> list[Document]:
    """A corpus given apart from the queries (`documents=`): every file must hold documents (id + content)."""
    tables = []
    read = TableReader()
    for path in paths:
        table = read(path, label(path))
        if table_kind(table) != "documents":
            raise DataError(f"{table.label}: expected documents (columns id and content), found examples")
        tables.append(table)
    return documents_from_tables(_tables_for_domain(tables, domain), progress=progress)
