"""The reward's terms on hand-made cases whose right answer is obvious, and the scorer that combines them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tsqr.records import Document
from tsqr.reward import (
    RewardConfig,
    RewardScorer,
    combine,
    extract_reasoning,
    failure_reason,
    letter_fraction,
    normalised_score,
    reciprocal_rank,
    repetition,
    reward,
    semantic_values,
    sparse_values,
)

GOLD = Document("gold", "Purring is driven by a neural oscillator that makes the laryngeal muscles twitch, "
                        "rapidly opening and closing the glottis while the cat breathes in and out.")
NEGATIVES = [
    Document("dogs", "Dogs bark and howl to communicate with their owners and with other dogs."),
    Document("bread", "Sourdough bread rises because wild yeast and lactic bacteria ferment the flour."),
    Document("trap", "Why do cats do what they do? A fun quiz about your cat's personality and habits."),
]
QUERY = "why do cats purr"
NAMES_KEY_TERMS = "A neural oscillator makes the laryngeal muscles twitch so the glottis opens and closes."
OFF_TOPIC = "Choosing a fun personality quiz about your favourite habits."
SPARSE_ONLY = RewardConfig(semantic_weight=0.0)


# ----------------------------------------------------------------------------------------------------- rules
def test_extract_reasoning_drops_an_echoed_prompt_and_end_marker() -> None:
    completion = "<|im_start|>user\nQuery: x<|im_end|>\n<|im_start|>assistant\nThe glottis vibrates.<|im_end|>"
    assert extract_reasoning(completion) == "The glottis vibrates."


def test_extract_reasoning_takes_the_answer_part_in_think_format() -> None:
    text = "<think>cats have a larynx</think> <answer>laryngeal muscles</answer>"
    assert extract_reasoning(text, think_format=True) == "laryngeal muscles"
    assert extract_reasoning("laryngeal muscles", think_format=True) == ""


@pytest.mark.parametrize("completion, reason", [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("<|im_end|>", "empty"),
    ("!!! ### 1234 5678 90 %%% $$$", "garbage"),
    ("The larynx muscles vibrate.", ""),
])
def test_failure_reason(completion: str, reason: str) -> None:
    assert failure_reason(completion, RewardConfig()) == reason


def test_format_violation_only_when_think_tags_are_required() -> None:
    plain = "The larynx muscles vibrate."
    assert failure_reason(plain, RewardConfig(think_format=True)) == "format"
    assert failure_reason(f"<think>hm</think><answer>{plain}</answer>", RewardConfig(think_format=True)) == ""


def test_a_loop_cut_at_the_token_limit_is_a_failure_but_not_when_it_ended() -> None:
    loop = "the cat the cat the cat " * 20
    assert failure_reason(loop, RewardConfig(), truncated=True) == "looping"
    assert failure_reason(loop, RewardConfig(), truncated=False) == ""
    assert failure_reason(NAMES_KEY_TERMS, RewardConfig(), truncated=True) == ""


def test_repetition_and_letter_fraction() -> None:
    assert repetition("a b c d e f g") == 0.0
    assert repetition("a b c a b c a b c") == pytest.approx(1 - 3 / 7)
    assert repetition("short") == 0.0
    assert letter_fraction("ab12") == 0.5
    assert letter_fraction("") == 1.0


# ----------------------------------------------------------------------------------------------------- terms
def test_normalised_score_divides_the_positives_mean_by_the_pool_top() -> None:
    scores = np.array([2.0, 8.0, 4.0, 0.0])
    assert normalised_score(scores, np.array([0]), np.arange(4)) == pytest.approx(0.25)
    assert normalised_score(scores, np.array([1]), np.arange(4)) == 1.0
    assert normalised_score(scores, np.array([0, 2]), np.arange(4)) == pytest.approx(3 / 8)
    assert normalised_score(scores, np.array([0]), np.array([0, 3])) == 1.0  # the pool decides the top
    assert normalised_score(np.zeros(4), np.array([0]), np.arange(4)) == 0.0


def test_reciprocal_rank_counts_only_negatives_and_ties_against_the_positive() -> None:
    scores = np.array([5.0, 9.0, 5.0, 1.0])
    assert reciprocal_rank(scores, np.array([0]), np.arange(4)) == pytest.approx(1 / 3)  # 9 and the tied 5 above
    assert reciprocal_rank(scores, np.array([1]), np.arange(4)) == 1.0
    assert reciprocal_rank(scores, np.array([0, 1]), np.arange(4)) == pytest.approx((1 / 2 + 1) / 2)
    assert reciprocal_rank(np.zeros(4), np.array([0]), np.arange(4)) == pytest.approx(1 / 4)


def test_sparse_values_compare_the_query_with_the_reasoning() -> None:
    query_scores = np.array([1.0, 4.0, 2.0])
    reasoning_scores = np.array([6.0, 3.0, 0.0])
    values = sparse_values(query_scores, reasoning_scores, np.array([0]), np.arange(3), "score")
    assert values == pytest.approx((0.25, 1.0))
    ranks = sparse_values(query_scores, reasoning_scores, np.array([0]), np.arange(3), "rank")
    assert ranks == pytest.approx((1 / 3, 1.0))
    with pytest.raises(ValueError, match="sparse mode"):
        sparse_values(query_scores, reasoning_scores, np.array([0]), np.arange(3), "ndcg")


def test_semantic_values_are_scaled_mean_cosines() -> None:
    query = np.array([1.0, 0.0])
    reasoning = np.array([0.6, 0.8])
    positives = np.array([[0.0, 1.0], [0.6, 0.8]])
    assert semantic_values(query, reasoning, positives, scale=10) == pytest.approx((3.0, 9.0))


def test_combine_weights_terms_and_subtracts_penalties() -> None:
    config = RewardConfig(sparse_weight=2.0, semantic_weight=0.5, length_penalty=1.0, length_target=4,
                          repetition_penalty=1.0, truncation_penalty=0.25)
    text = "one two three four five six seven eight"
    result = combine(config, sparse=(0.25, 0.75), semantic=(3.0, 5.0), text=text, truncated=True)
    assert result.sparse == pytest.approx(0.5) and result.semantic == pytest.approx(2.0)
    assert result.length_penalty == pytest.approx(1.0)  # 8 words, 4 over a target of 4
    assert result.repetition_penalty == 0.0
    assert result.total == pytest.approx(2.0 * 0.5 + 0.5 * 2.0 - 1.0 - 0.25)
    assert result.words == 8 and result.failure == ""


# ----------------------------------------------------------------------------------------------------- config
def test_config_round_trips_through_json(tmp_path) -> None:
    config = RewardConfig(sparse_mode="rank", semantic_weight=0.3, think_format=True)
    assert RewardConfig.load(config.save(tmp_path / "reward.json")) == config


def test_config_errors_name_the_problem(tmp_path) -> None:
    with pytest.raises(ValueError, match="sparse_mode"):
        RewardConfig(sparse_mode="bm42")
    with pytest.raises(ValueError, match="both 0"):
        RewardConfig(sparse_weight=0, semantic_weight=0)
    path = tmp_path / "reward.json"
    path.write_text(json.dumps({"sparse_weight": 1, "semantic_wieght": 2}))
    with pytest.raises(ValueError, match="semantic_wieght"):
        RewardConfig.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        RewardConfig.load(path)


# ----------------------------------------------------------------------------------------------------- end to end
def test_a_reasoning_naming_the_gold_documents_terms_beats_one_that_does_not() -> None:
    good = reward(QUERY, NAMES_KEY_TERMS, [GOLD], SPARSE_ONLY, negatives=NEGATIVES)
    bad = reward(QUERY, OFF_TOPIC, [GOLD], SPARSE_ONLY, negatives=NEGATIVES)
    assert good.sparse > 0 > bad.sparse
    assert good.total > bad.total
    ranked = reward(QUERY, NAMES_KEY_TERMS, [GOLD], RewardConfig(semantic_weight=0, sparse_mode="rank"),
                    negatives=NEGATIVES)
    assert ranked.sparse_reasoning == 1.0 and ranked.sparse_reasoning > ranked.sparse_query


def test_an_empty_reasoning_gets_the_fixed_penalty_and_nothing_else() -> None:
    result = reward(QUERY, "", [GOLD], SPARSE_ONLY, negatives=NEGATIVES)
    assert result.total == -1.0 and result.failure == "empty" and result.sparse == 0.0
    assert reward(QUERY, "  ", [GOLD], RewardConfig(failure_penalty=-3, semantic_weight=0)).total == -3


@pytest.mark.slow
def test_semantic_term_prefers_the_reasoning_about_the_gold_document() -> None:
    config = RewardConfig(sparse_weight=0.0)
    explains = ("Cats purr because a neural oscillator in the brain makes the laryngeal muscles twitch, opening and "
                "closing the glottis as the cat breathes in and out.")
    good = reward(QUERY, explains, [GOLD], config, negatives=NEGATIVES)
    terse = reward(QUERY, NAMES_KEY_TERMS, [GOLD], config, negatives=NEGATIVES)
    bad = reward(QUERY, OFF_TOPIC, [GOLD], config, negatives=NEGATIVES)
    assert good.semantic > 0 > bad.semantic  # explaining the gold document beats the query; drifting off loses
    assert good.semantic > terse.semantic > bad.semantic
    assert good.semantic_query == bad.semantic_query  # the query's side does not depend on the reasoning
    joint = reward(QUERY, NAMES_KEY_TERMS, [GOLD], RewardConfig(), negatives=NEGATIVES)
    assert joint.total == pytest.approx(joint.sparse + joint.semantic)


def test_scorer_pools_and_unknown_ids() -> None:
    scorer = RewardScorer([GOLD, *NEGATIVES], RewardConfig(semantic_weight=0, sparse_pool="candidates"))
    narrow = scorer.score(QUERY, OFF_TOPIC, ["gold"], ["dogs"])
    wide = RewardScorer([GOLD, *NEGATIVES], SPARSE_ONLY).score(QUERY, OFF_TOPIC, ["gold"], ["dogs"])
    assert narrow.sparse_reasoning == 0.0  # off-topic text matches neither gold nor the dog document
    assert narrow.sparse_query == 1.0  # among gold and the dog document, the query ranks gold first...
    assert wide.sparse_query < 0.5  # ...but over the whole corpus the cat quiz (the lexical trap) outscores it
    with pytest.raises(ValueError, match="'nope'"):
        scorer.score(QUERY, NAMES_KEY_TERMS, ["nope"])
    with pytest.raises(ValueError, match="no positive"):
        scorer.score(QUERY, NAMES_KEY_TERMS, [])


def test_scorer_computes_the_query_side_once_per_query() -> None:
    scorer = RewardScorer([GOLD, *NEGATIVES], SPARSE_ONLY)
    calls = []
    original = scorer.index.scores
    scorer.index.scores = lambda text, scoring="bright": calls.append(text) or original(text, scoring)
    for completion in (NAMES_KEY_TERMS, OFF_TOPIC, NAMES_KEY_TERMS):
        scorer.score(QUERY, completion, ["gold"])
    assert calls.count(QUERY) == 1 and len(calls) == 4


@pytest.mark.slow
def test_public_code_config_is_ten_times_the_mean_cosine_gain_computed_by_hand() -> None:
    from pathlib import Path

    from tsqr.embedding import shared_embedder

    path = Path(__file__).resolve().parents[1] / "train" / "configs" / "reward_public_code.json"
    public = RewardConfig.load(path)
    assert public.sparse_weight == 0 and public.embedding_model == "BAAI/bge-base-en-v1.5"
    offline = RewardConfig(**{**public.to_dict(), "embedding_model": "default"})  # BGE needs the hub
    other = Document("other", "The glottis is the opening between the vocal folds in the larynx.")
    result = reward(QUERY, NAMES_KEY_TERMS, [GOLD, other], offline)
    vectors = shared_embedder().encode([QUERY, NAMES_KEY_TERMS, GOLD.content, other.content])
    by_hand = 10 * float(np.mean(vectors[2:] @ vectors[1] - vectors[2:] @ vectors[0]))
    assert result.total == pytest.approx(by_hand, abs=1e-5) and result.sparse == 0.0
