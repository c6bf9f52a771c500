"""The RL reward for query reasoning: how much a generated reasoning q' brings a query's positive documents closer
than the original query q does, plus rules that punish broken outputs (TongSearch QR's "semi-rule-based" reward).

Usage:
    from tsqr.reward import RewardConfig, RewardScorer, reward
    result = reward("why do cats purr", reasoning_text, positives=[gold_doc], negatives=other_docs)
    result.total, result.sparse, result.semantic, result.failure      # every term, for the logs
    scorer = RewardScorer(corpus, RewardConfig(sparse_mode="rank"))   # one BM25 index + embedding cache per run
    scorer.score(query, completion, positive_ids=["d1"], negative_ids=["d7", "d9"])

The formula (train/README.md compares it with the paper's and the public code's):

    if the completion is empty, garbage, looping at the length limit, or breaks the required format:
        R = failure_penalty                                            (-1, as the public code)
    else:
        R = w_sparse   * (S(q') - S(q))                               BM25 term
          + w_semantic * scale * mean_{d in D+} (cos(e(q'), e(d)) - cos(e(q), e(d)))   embedding term (scale 10)
          - length_penalty * max(0, words - length_target) / length_target
          - repetition_penalty * (1 - distinct word n-grams / all word n-grams)
          - truncation_penalty * [the completion hit the token limit]

S(x) is BM25 (BRIGHT's scoring, tsqr.bm25) of the positives under x, made comparable across queries:
  "score": mean over D+ of score(x, d) / max score(x, d') over the pool       (1 = a positive is the top document)
  "rank":  mean over D+ of 1 / (1 + number of non-positive pool documents scoring >= it)   (reciprocal rank)
The pool is the whole reward corpus ("corpus") or the example's positives and negatives ("candidates").

Every function below the config is pure (same inputs, same number), so each term is unit-testable on hand-made
cases; `RewardScorer` only adds caches (the query's side is computed once for all generations of a prompt).
"""
from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tsqr.bm25 import Index
from tsqr.embedding import shared_embedder
from tsqr.composition import FUSE, COMPOSITIONS, compose_query
from tsqr.records import Document

if TYPE_CHECKING:
    from tsqr.bm25 import Index
    from tsqr.embedding import Embedder

SPARSE_MODES = ("score", "rank")
SPARSE_POOLS = ("corpus", "candidates")
FAILURES = ("empty", "format", "garbage", "looping")
TEXT_COMPOSITIONS = tuple(c for c in COMPOSITIONS if c != FUSE)  # the reward scores one composed text
_THINK_ANSWER = re.compile(r"<think>.*?</think>\s*<answer>(.*?)</answer>", re.DOTALL)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class RewardConfig:
    """Every weight and choice of the reward; saved as JSON beside each checkpoint (`save` / `load`)."""

    sparse_weight: float = 1.0
    semantic_weight: float = 1.0
    sparse_mode: str = "score"
    sparse_pool: str = "corpus"
    scoring: str = "bright"
    semantic_scale: float = 10.0
    embedding_model: str = "default"
    composition: str = "replace"
    repeat: int = 1
    failure_penalty: float = -1.0
    think_format: bool = False
    min_letter_fraction: float = 0.5
    min_distinct_ngrams: float = 0.3
    ngram: int = 3
    length_penalty: float = 0.0
    length_target: int = 300
    repetition_penalty: float = 0.0
    truncation_penalty: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.sparse_mode not in SPARSE_MODES:
            problems.append(f"sparse_mode must be one of {SPARSE_MODES}, got {self.sparse_mode!r}")
        if self.sparse_pool not in SPARSE_POOLS:
            problems.append(f"sparse_pool must be one of {SPARSE_POOLS}, got {self.sparse_pool!r}")
        if self.sparse_weight == 0 and self.semantic_weight == 0:
            problems.append("sparse_weight and semantic_weight are both 0: the reward would only see the rules")
        for name in ("length_penalty", "repetition_penalty", "truncation_penalty", "semantic_scale"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.min_letter_fraction <= 1 or not 0 <= self.min_distinct_ngrams <= 1:
            problems.append("min_letter_fraction and min_distinct_ngrams must lie in [0, 1]")
        if self.ngram < 1 or self.length_target < 1 or self.repeat < 1:
            problems.append("ngram, length_target and repeat must be at least 1")
        if self.composition not in TEXT_COMPOSITIONS:
            problems.append(f"composition must be one of {TEXT_COMPOSITIONS} (fuse has no one text to score), "
                            f"got {self.composition!r}")
        if problems:
            raise ValueError("invalid reward config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "reward config") -> "RewardConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> "RewardConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of reward settings, got {type(data).__name__}")
        return cls.from_dict(data, str(path))


@dataclass(frozen=True)
class RewardBreakdown:
    """The reward and every term that made it, for logs and plots. `failure` is "" when the rules passed."""

    total: float
    sparse: float = 0.0
    semantic: float = 0.0
    length_penalty: float = 0.0
    repetition_penalty: float = 0.0
    truncation_penalty: float = 0.0
    failure: str = ""
    sparse_query: float = 0.0
    sparse_reasoning: float = 0.0
    semantic_query: float = 0.0
    semantic_reasoning: float = 0.0
    words: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------------ rules
def extract_reasoning(completion: str, think_format: bool = False) -> str:
    """The reasoning inside a completion: text after an echoed assistant header, without the end-of-turn marker;
    with `think_format`, only the <answer> part of "<think>...</think><answer>...</answer>" ("" if absent)."""
    text = completion.split("<|im_start|>assistant", 1)[-1]
    text = text.replace("<|im_end|>", "")
    if think_format:
        match = _THINK_ANSWER.search(text)
        return match.group(1).strip() if match else ""
    return text.strip()


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def repetition(text: str, n: int = 3) -> float:
    """1 - distinct/total word n-grams: 0 for text that never repeats a phrase, near 1 for a loop."""
    words = words_of(text)
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def letter_fraction(text: str) -> float:
    """Share of letters among the non-space characters (1.0 for an empty text, which `failure_reason` catches)."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 1.0
    return sum(c.isalpha() for c in visible) / len(visible)


def failure_reason(completion: str, config: RewardConfig, truncated: bool = False) -> str:
    """Why a completion earns the fixed penalty ("" when it does not):
    format (think tags required and missing), empty (no word), garbage (mostly symbols or digits), looping
    (cut at the token limit while repeating itself)."""
    if config.think_format and not _THINK_ANSWER.search(completion):
        return "format"
    text = extract_reasoning(completion, config.think_format)
    if not words_of(text):
        return "empty"
    if letter_fraction(text) < config.min_letter_fraction:
        return "garbage"
    if truncated and 1.0 - repetition(text, config.ngram) < config.min_distinct_ngrams:
        return "looping"
    return ""


def length_penalty(words: int, config: RewardConfig) -> float:
    """Grows linearly with the words beyond the target: long reasonings cost generation time at search time."""
    return config.length_penalty * max(0, words - config.length_target) / config.length_target


# ------------------------------------------------------------------------------------------------ terms
def normalised_score(scores: np.ndarray, positives: np.ndarray, pool: np.ndarray) -> float:
    """Mean BM25 score of the positives over the best score in the pool (0 when nothing in the pool matches)."""
    top = float(np.max(scores[pool])) if len(pool) else 0.0
    if top <= 0:
        return 0.0
    return float(np.mean(scores[positives]) / top)


def reciprocal_rank(scores: np.ndarray, positives: np.ndarray, pool: np.ndarray) -> float:
    """Mean over positives of 1 / (1 + non-positive pool documents scoring at least as high).

    Each positive competes with the negatives only, not with the other positives; ties count against it, so a
    reasoning that matches nothing (all scores 0) earns the lowest rank, never a free first place.
    """
    negatives = np.setdiff1d(pool, positives)
    negative_scores = scores[negatives]
    ranks = [1 + int(np.count_nonzero(negative_scores >= scores[p])) for p in positives]
    return float(np.mean([1.0 / rank for rank in ranks]))


def sparse_values(query_scores: np.ndarray, reasoning_scores: np.ndarray, positives: np.ndarray,
                  pool: np.ndarray, mode: str = "score") -> tuple[float, float]:
    """(S(q), S(q')): the positives' BM25 standing under the query and under the reasoning."""
    if mode not in SPARSE_MODES:
        raise ValueError(f"sparse mode must be one of {SPARSE_MODES}, got {mode!r}")
    measure = normalised_score if mode == "score" else reciprocal_rank
    return measure(query_scores, positives, pool), measure(reasoning_scores, positives, pool)


def semantic_values(query_vector: np.ndarray, reasoning_vector: np.ndarray, positive_vectors: np.ndarray,
                    scale: float = 10.0) -> tuple[float, float]:
    """(scale * mean cos(q, D+), scale * mean cos(q', D+)) for unit vectors: the public code's BGE reward is the
    difference of the two."""
    return (scale * float(np.mean(positive_vectors @ query_vector)),
            scale * float(np.mean(positive_vectors @ reasoning_vector)))


def combine(config: RewardConfig, *, sparse: tuple[float, float] = (0.0, 0.0),
            semantic: tuple[float, float] = (0.0, 0.0), text: str = "", truncated: bool = False) -> RewardBreakdown:
    """The weighted joint of the terms and the soft penalties, for a completion that passed the rules."""
    sparse_term = sparse[1] - sparse[0]
    semantic_term = semantic[1] - semantic[0]
    words = len(words_of(text))
    penalties = (length_penalty(words, config),
                 config.repetition_penalty * repetition(text, config.ngram),
                 config.truncation_penalty if truncated else 0.0)
    total = config.sparse_weight * sparse_term + config.semantic_weight * semantic_term - sum(penalties)
    return RewardBreakdown(total=total, sparse=sparse_term, semantic=semantic_term, length_penalty=penalties[0],
                           repetition_penalty=penalties[1], truncation_penalty=penalties[2],
                           sparse_query=sparse[0], sparse_reasoning=sparse[1], semantic_query=semantic[0],
                           semantic_reasoning=semantic[1], words=words)


def failed(config: RewardConfig, reason: str) -> RewardBreakdown:
    return RewardBreakdown(total=config.failure_penalty, failure=reason)


# ------------------------------------------------------------------------------------------------ scorer
class RewardScorer:
    """Scores completions against one corpus: builds its BM25 index once, caches each query's side (its BM25
    scores and embedding) and every document's embedding, so 16 generations of a prompt cost 16 reasonings."""

    def __init__(self, documents: Sequence[Document], config: RewardConfig | None = None, *,
                 index: "Index | None" = None, embedder: "Embedder | None" = None, progress: bool = False) -> None:
        self.config = config or RewardConfig()
        self.documents = {doc.id: doc for doc in documents}
        if len(self.documents) != len(documents):
            raise ValueError("reward corpus has duplicate document ids")
        self._order = {doc_id: position for position, doc_id in enumerate(self.documents)}
        self._index = index
        self._embedder = embedder
        self._progress = progress
        self._query_side: OrderedDict[str, tuple[np.ndarray | None, np.ndarray | None]] = OrderedDict()
        if self._index is not None and list(self._index.doc_ids) != list(self.documents):
            raise ValueError("the BM25 index given to RewardScorer covers other documents than its corpus")

    @property
    def index(self) -> "Index":
        if self._index is None:

            self._index = Index.build(list(self.documents.values()), progress=self._progress)
        return self._index

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:

            self._embedder = shared_embedder(self.config.embedding_model)
        return self._embedder

    def _positions(self, ids: Sequence[str], what: str) -> np.ndarray:
        missing = [doc_id for doc_id in ids if doc_id not in self.documents]
        if missing:
            raise ValueError(f"{what} document id(s) not in the reward corpus: {', '.join(map(repr, missing[:5]))}")
        return np.array(sorted({self._order[doc_id] for doc_id in ids}), dtype=np.int64)

    def _query(self, query: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        if query not in self._query_side:
            scores = self.index.scores(query, self.config.scoring) if self.config.sparse_weight else None
            vector = self.embedder.encode([query])[0] if self.config.semantic_weight else None
            self._query_side[query] = (scores, vector)
            if len(self._query_side) > 256:
                self._query_side.popitem(last=False)
        return self._query_side[query]

    def score(self, query: str, completion: str, positive_ids: Sequence[str], negative_ids: Sequence[str] = (), *,
              truncated: bool = False) -> RewardBreakdown:
        """The reward of one completion for `query`, whose relevant documents are `positive_ids`."""
        if not positive_ids:
            raise ValueError(f"query {query[:60]!r} has no positive documents: the reward needs at least one")
        config = self.config
        reason = failure_reason(completion, config, truncated)
        if reason:
            return failed(config, reason)

        text = extract_reasoning(completion, config.think_format)
        composed = compose_query(query, text, config.composition, config.repeat)
        query_scores, query_vector = self._query(query)
        sparse = semantic = (0.0, 0.0)
        if config.sparse_weight:
            positives = self._positions(positive_ids, "positive")
            pool = np.arange(len(self.documents))
            if config.sparse_pool == "candidates" and negative_ids:
                pool = np.union1d(positives, self._positions(negative_ids, "negative"))
            sparse = sparse_values(query_scores, self.index.scores(composed, config.scoring), positives, pool,
                                   config.sparse_mode)
        if config.semantic_weight:
            self._positions(positive_ids, "positive")
            vectors = self.embedder.encode([composed] + [self.documents[d].content for d in positive_ids])
            semantic = semantic_values(query_vector, vectors[0], vectors[1:], config.semantic_scale)
        return combine(config, sparse=sparse, semantic=semantic, text=text, truncated=truncated)


def reward(query: str, reasoning: str, positives: Sequence[Document], config: RewardConfig | None = None, *,
           negatives: Sequence[Document] = (), embedder: "Embedder | None" = None,
           truncated: bool = False) -> RewardBreakdown:
    """The reward of one reasoning, with BM25 over just the given positives and negatives (a one-off pool).

    For training, build one `RewardScorer` over the whole corpus instead: its index and caches are reused.
    """
    scorer = RewardScorer(list(positives) + list(negatives), config, embedder=embedder)
    return scorer.score(query, reasoning, [doc.id for doc in positives], [doc.id for doc in negatives],
                        truncated=truncated)
