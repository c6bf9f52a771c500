"""The plain records every part of tsqr passes around.

Kept in one small module with no heavy imports so that the loaders, the BM25 engine, the metrics, the
reasoner and the app can all agree on shapes without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Document:
    """One retrievable unit of a corpus (BRIGHT's `documents` / `long_documents` rows)."""

    id: str
    content: str


@dataclass(frozen=True)
class Example:
    """One BRIGHT query with its judgements.

    `excluded_ids` never contains BRIGHT's "N/A" placeholder: loaders turn `["N/A"]` into `()`.
    `reasoning` is BRIGHT's own human-written reasoning field, not a model's.
    """

    id: str
    query: str
    gold_ids: tuple[str, ...]
    excluded_ids: tuple[str, ...] = ()
    gold_ids_long: tuple[str, ...] = ()
    reasoning: str = ""
    gold_answer: str = ""


@dataclass(frozen=True)
class Reasoning:
    """What a reasoner wrote for one query, with enough provenance to cache and compare it."""

    query: str
    text: str
    model: str = ""
    template: str = ""
    new_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False
    truncated: bool = False  # generation stopped at max_new_tokens (tsqr.reasoner.cache.CacheRow.reached_token_limit)


class Hit(NamedTuple):
    """One ranked result: a document id and its retrieval score."""

    doc_id: str
    score: float


# A run maps a query id to its hits, best first; qrels map a query id to {doc_id: relevance}.
Run = dict[str, list[Hit]]
Qrels = dict[str, dict[str, int]]


@dataclass
class Domain:
    """A loaded BRIGHT domain (or any corpus in BRIGHT's shape): queries, documents and where they came from."""

    name: str
    examples: list[Example]
    documents: list[Document] = field(default_factory=list)
    source: str = ""

    def qrels(self, long: bool = False) -> Qrels:
        """Binary qrels from the gold ids, as BRIGHT's official evaluation builds them."""
        return {
            ex.id: {doc_id: 1 for doc_id in (ex.gold_ids_long if long else ex.gold_ids)}
            for ex in self.examples
        }
