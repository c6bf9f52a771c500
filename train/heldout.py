"""Held-out evaluation of a policy: its greedy reasonings for queries it never trained on, scored two ways.

1. the mean reward and its terms (what training optimises);
2. BM25 retrieval over the training corpus with tsqr's evaluation runner (tsqr.evaluate, BRIGHT's protocol):
   nDCG@10 and R@100 of the raw queries versus the reasoned ones (what users care about).
Both trainers call it after training (and, when asked, before), and its table goes into the model card.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from train.dataset import TrainExample
from train.policy import generate, render_prompts
from train.rewarding import RewardFunction, summarize
from tsqr.evaluate import EvaluationConfig, evaluate_domain, summary_rows
from tsqr.reasoner.settings import GenerationSettings
from tsqr.records import Document, Domain, Example
from tsqr.retrieval import BM25Retriever


@dataclass
class HeldoutResult:
    """Scores of one policy on the held-out queries."""

    queries: int
    reward: dict[str, float]
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)  # measure -> {"raw", "reasoned"}
    reasonings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"queries": self.queries, "reward": self.reward, "retrieval": self.retrieval}


def reason_greedily(model: Any, tokenizer: Any, queries: Sequence[str], *, max_new_tokens: int,
                    template: str = "tongsearch", batch_size: int = 8) -> tuple[list[str], list[bool]]:
    """(texts, truncated) of greedy generations, with the reasoner's default repetition penalty so the scores
    describe the model as `tsqr reason` will run it."""
    penalty = GenerationSettings().repetition_penalty
    texts: list[str] = []
    truncated: list[bool] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(queries), batch_size):
        prompts = render_prompts(tokenizer, queries[start:start + batch_size], template)
        rollout = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=0.0,
                           repetition_penalty=penalty)
        texts.extend(rollout.texts)
        truncated.extend(rollout.truncated)
    model.train(was_training)
    return texts, truncated


def evaluate_policy(model: Any, tokenizer: Any, examples: Sequence[TrainExample], documents: Sequence[Document],
                    reward_function: RewardFunction, *, max_new_tokens: int, template: str = "tongsearch",
                    batch_size: int = 8) -> HeldoutResult:
    """Mean reward terms and raw-vs-reasoned retrieval of `model` on `examples`."""
    texts, truncated = reason_greedily(model, tokenizer, [e.query for e in examples],
                                       max_new_tokens=max_new_tokens, template=template, batch_size=batch_size)
    reward = summarize(reward_function.score_examples(examples, texts, truncated))
    domain = Domain(name="heldout", documents=list(documents), source="training set (held-out queries)",
                    examples=[Example(id=e.id, query=e.query, gold_ids=e.positive_ids) for e in examples])
    config = EvaluationConfig(composition=reward_function.scorer.config.composition,
                              repeat=reward_function.scorer.config.repeat)
    reasonings = {e.id: text for e, text in zip(examples, texts)}
    retriever = BM25Retriever(reward_function.scorer.index, config.scoring)
    report = evaluate_domain(domain, retriever, {qid: (text,) for qid, text in reasonings.items()}, config,
                             progress=False)
    retrieval = {row.measure: {"raw": row.raw, "reasoned": row.reasoned or 0.0} for row in summary_rows([report])}
    return HeldoutResult(len(examples), reward, retrieval, reasonings)
