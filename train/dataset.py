"""The training set the trainers read: queries with positive (and negative) document ids, and those documents.

A dataset folder, as train/build_dataset.py writes it:
    train.parquet      id, query, positive_ids, negative_ids, source      (one row per training query)
    heldout.parquet    the same columns, for queries kept out of training (before/after evaluation); optional
    documents.parquet  id, content: every document an example names; the reward's BM25 corpus
    manifest.json      what went in: sources, counts, skipped rows with reasons, settings

Parquet, because TRL's trainers and `datasets` read it directly, and because list columns stay lists.
Reading validates what the trainers rely on (every named document exists, every query has a positive), so a
hand-edited or foreign folder fails here with the file and row, not inside a training step.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsqr.records import Document

@dataclass(frozen=True)
class TrainExample:
    """One training query: the text the policy reasons about and the documents that should rank for it."""

    id: str
    query: str
    positive_ids: tuple[str, ...]
    negative_ids: tuple[str, ...] = ()
    source: str = ""

    def as_row(self) -> dict[str, Any]:
        return {"id": self.id, "query": self.query, "positive_ids": list(self.positive_ids),
                "negative_ids": list(self.negative_ids), "source": self.source}


@dataclass
class TrainingSet:
    """Training and held-out examples over one document collection."""

    examples: list[TrainExample]
    documents: list[Document]
    heldout: list[TrainExample] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def document_map(self) -> dict[str, Document]:
        return {doc.id: doc for doc in self.documents}

    def validate(self, where: str = "training set") -> None:
        """Raise ValueError naming the first example that is unusable by the trainers."""
        known = self.document_map()
        if len(known) != len(self.documents):
            raise ValueError(f"{where}: documents.parquet has duplicate ids")
        if not self.examples:
            raise ValueError(f"{where}: no training examples")
        seen: set[str] = set()
        for split, examples in (("train", self.examples), ("heldout", self.heldout)):
            for row, example in enumerate(examples, start=1):
                label = f"{where}: {split}.parquet row {row} (id {example.id!r})"
                if example.id in seen:
                    raise ValueError(f"{label}: duplicate example id")
                seen.add(example.id)
                if not example.query.strip():
                    raise ValueError(f"{label}: empty query")
                if not example.positive_ids:
                    raise ValueError(f"{label}: no positive documents")
                missing = [d for d in example.positive_ids + example.negative_ids if d not in known]
                if missing:
                    raise ValueError(f"{label}: document id(s) not in documents.parquet: {missing[:5]}")

    def write(self, folder: str | Path) -> Path:
        """Write the folder (parquet files and manifest.json); returns it."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.validate(str(folder))
        for name, examples in (("train", self.examples), ("heldout", self.heldout)):
            path = folder / f"{name}.parquet"
            if name == "heldout" and not examples:
                path.unlink(missing_ok=True)
                continue
            pq.write_table(pa.Table.from_pylist([e.as_row() for e in examples], schema=_example_schema()), path)
        documents = pa.Table.from_pylist([{"id": d.id, "content": d.content} for d in self.documents],
                                         schema=pa.schema([("id", pa.string()), ("content", pa.string())]))
        pq.write_table(documents, folder / "documents.parquet")
        (folder / "manifest.json").write_text(json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> "TrainingSet":
        """Read and validate a dataset folder."""
        folder = Path(folder)
        if not (folder / "train.parquet").is_file():
            raise ValueError(f"{folder}: not a training set folder (no train.parquet); build one with "
                             "`python -m train.build_dataset`")
        if not (folder / "documents.parquet").is_file():
            raise ValueError(f"{folder}: documents.parquet is missing")
        examples = _read_examples(folder / "train.parquet")
        heldout = _read_examples(folder / "heldout.parquet") if (folder / "heldout.parquet").is_file() else []
        documents = [Document(str(row["id"]), str(row["content"]))
                     for row in _read_rows(folder / "documents.parquet", ("id", "content"))]
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
        training_set = cls(examples, documents, heldout, manifest)
        training_set.validate(str(folder))
        return training_set


def _example_schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("query", pa.string()), ("positive_ids", pa.list_(pa.string())),
                      ("negative_ids", pa.list_(pa.string())), ("source", pa.string())])


def _read_rows(path: Path, required: Sequence[str]) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise ValueError(f"{path}: not a readable parquet file ({error})") from None
    missing = [name for name in required if name not in table.column_names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; has {', '.join(table.column_names)}")
    return table.to_pylist()


def _read_examples(path: Path) -> list[TrainExample]:
    examples = []
    for row in _read_rows(path, ("id", "query", "positive_ids")):
        examples.append(TrainExample(id=str(row["id"]), query=str(row["query"] or ""),
                                     positive_ids=tuple(row["positive_ids"] or ()),
                                     negative_ids=tuple(row.get("negative_ids") or ()),
                                     source=str(row.get("source") or "")))
    return examples

