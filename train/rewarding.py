"""The reward as both trainers call it: TRL's reward-function protocol over one `tsqr.reward.RewardScorer`.

TRL calls `f(prompts=..., completions=..., completion_ids=..., **dataset_columns)` and wants one float per
completion; our dataset columns `query`, `positive_ids` and `negative_ids` arrive as lists beside them. The same
object serves the PPO loop, so both trainers optimise exactly one reward. Besides the floats, it keeps the last
batch's `RewardBreakdown`s and logs the mean of every term through TRL's `log_metric` hook (so GRPO's logs hold
the sparse term, the semantic term, the penalties and the failure rate per step, not just the total).
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from train.dataset import TrainExample
from tsqr.records import Document
from tsqr.reward import RewardBreakdown, RewardConfig, RewardScorer

TERM_NAMES = ("total", "sparse", "semantic", "length_penalty", "repetition_penalty", "truncation_penalty")


def completion_text(completion: Any) -> str:
    """The generated text, whether TRL passes a string or a conversational completion (a list of turns)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(turn.get("content", "") for turn in completion if isinstance(turn, dict))
    raise TypeError(f"cannot read a completion of type {type(completion).__name__}")


def summarize(breakdowns: Sequence[RewardBreakdown]) -> dict[str, float]:
    """Mean of every term and the share of completions that hit a rule (empty, garbage, ...)."""
    if not breakdowns:
        return {}
    count = len(breakdowns)
    summary = {name: sum(getattr(b, name) for b in breakdowns) / count for name in TERM_NAMES}
    summary["failure_rate"] = sum(1 for b in breakdowns if b.failure) / count
    summary["words"] = sum(b.words for b in breakdowns) / count
    return summary


class RewardFunction:
    """f(prompts, completions, query, positive_ids, negative_ids, ...) -> rewards, as TRL's GRPOTrainer calls it."""

    def __init__(self, scorer: RewardScorer, max_completion_tokens: int | None = None,
                 stop_ids: Collection[int] = ()) -> None:
        self.scorer = scorer
        self.max_completion_tokens = max_completion_tokens
        self.stop_ids = frozenset(stop_ids)
        self.last: list[RewardBreakdown] = []
        self.__name__ = "tsqr_reward"  # TRL names its reward logs after the function

    @classmethod
    def for_documents(cls, documents: Sequence[Document], config: RewardConfig,
                      max_completion_tokens: int | None = None, stop_ids: Collection[int] = ()) -> "RewardFunction":
        return cls(RewardScorer(documents, config, progress=True), max_completion_tokens, stop_ids)

    def _truncated(self, completion_ids: Sequence[Sequence[int]] | None, count: int) -> list[bool]:
        """Cut by the token limit: as long as the limit and not ending on a stop token (one that ends exactly at
        the limit finished, as PPO's rollouts count it)."""
        if completion_ids is None or not self.max_completion_tokens:
            return [False] * count
        return [len(ids) >= self.max_completion_tokens and ids[-1] not in self.stop_ids for ids in completion_ids]

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], *, query: Sequence[str],
                 positive_ids: Sequence[Sequence[str]], negative_ids: Sequence[Sequence[str]] | None = None,
                 completion_ids: Sequence[Sequence[int]] | None = None,
                 log_metric: Callable[[str, float], None] | None = None, **_: Any) -> list[float]:
        negatives = negative_ids if negative_ids is not None else [()] * len(completions)
        truncated = self._truncated(completion_ids, len(completions))
        self.last = [self.scorer.score(q, completion_text(c), list(p), list(n), truncated=t)
                     for q, c, p, n, t in zip(query, completions, positive_ids, negatives, truncated)]
        if log_metric is not None:
            for name, value in summarize(self.last).items():
                log_metric(f"reward_terms/{name}", value)
        return [b.total for b in self.last]

    def score_examples(self, examples: Sequence[TrainExample], texts: Sequence[str],
                       truncated: Sequence[bool] | None = None) -> list[RewardBreakdown]:
        """Breakdowns for one text per example (the PPO loop and held-out evaluation call this)."""
        flags = truncated if truncated is not None else [False] * len(texts)
        return [self.scorer.score(e.query, t, e.positive_ids, e.negative_ids, truncated=f)
                for e, t, f in zip(examples, texts, flags)]
