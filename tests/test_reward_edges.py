"""The reward's edges that mutation testing found unguarded (tests/README.md): boundaries of the rules, every
field of a breakdown, every config choice reaching the scorer, and validation limits.

Where the semantic term is needed without loading a sentence-embedding model, `LetterEmbedder` stands in for
the embedder (the scorer takes any object with `encode`): unit vectors of letter counts, so each expected
cosine is computed here by hand from the same vectors.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tsqr.bm25 import Index
from tsqr.records import Document
from tsqr.composition import compose_query
from tsqr.reward import (
    RewardConfig,
    RewardScorer,
    combine,
    extract_reasoning,
    failure_reason,
    length_penalty,
    normalised_score,
    reciprocal_rank,
    reward,
    semantic_values,
    sparse_values,
    words_of,
)

GOLD = Document("gold", "Purring is driven by a neural oscillator that makes the laryngeal muscles twitch.")
OTHERS = [Document("dogs", "Dogs bark and howl to communicate with their owners and with other dogs."),
          Document("quiz", "Why do cats do what they do? A fun quiz about your cat's personality and habits.")]
CORPUS = [GOLD, *OTHERS]
QUERY = "why do cats purr"
REASONING = "A neural oscillator makes the laryngeal muscles twitch."
MIXED = "dogs bark muscles"  # a reasoning on which the scorings, modes and compositions give different numbers
REPEATED_QUERY = "cats cats cats purring"  # a query whose own standing differs between the scorings


class LetterEmbedder:
    """Unit vectors of a-z letter counts: a deterministic stand-in for a sentence embedder."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        vectors = np.array([[text.lower().count(chr(97 + i)) for i in range(26)] for text in texts], dtype=float)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Untouchable:
    """An embedder, or an index over CORPUS, that fails the test if the scorer asks it for anything."""

    doc_ids = [doc.id for doc in CORPUS]

    def encode(self, texts):
        raise AssertionError("the embedder was used although semantic_weight is 0")

    def scores(self, text, scoring="bright"):
        raise AssertionError("BM25 was used although sparse_weight is 0")


# -- rules -------------------------------------------------------------------------------------------------
def test_the_reasoning_starts_after_the_first_assistant_header():
    completion = "<|im_start|>assistant\nfirst <|im_start|>assistant second<|im_end|>"
    assert extract_reasoning(completion) == "first <|im_start|>assistant second"


def test_rule_boundaries_letter_share_and_distinct_ngrams_exactly_at_the_limit():
    config = RewardConfig(min_letter_fraction=0.5)
    assert failure_reason("ab12", config) == ""  # exactly half letters is enough
    assert failure_reason("ab123", config) == "garbage"
    pairs = RewardConfig(ngram=2, min_distinct_ngrams=0.5)  # "a b a b a": 2 distinct of 4 bigrams
    assert failure_reason("a b a b a", pairs, truncated=True) == ""
    assert failure_reason("a b a b a", RewardConfig(ngram=2, min_distinct_ngrams=0.6), truncated=True) == "looping"
    # the config's n-gram size decides: the same text has 2 distinct of 3 trigrams, 0.67 >= 0.6
    assert failure_reason("a b a b a", RewardConfig(ngram=3, min_distinct_ngrams=0.6), truncated=True) == ""
    assert failure_reason("a b a b a", RewardConfig(ngram=2, min_distinct_ngrams=0.6)) == ""  # not cut: no loop


def test_think_format_rules_read_the_answer_part():
    config = RewardConfig(think_format=True)
    assert failure_reason("<think>plenty of words here</think><answer>!!! ### 123</answer>", config) == "garbage"
    assert failure_reason("<think>ok</think><answer>laryngeal muscles</answer>", config) == ""


def test_words_are_lower_cased_and_no_penalty_up_to_the_length_target():
    assert words_of("Cats PURR, cats.") == ["cats", "purr", "cats"]
    config = RewardConfig(length_penalty=1.0, length_target=4)
    assert [length_penalty(words, config) for words in (0, 3, 4, 5, 8)] == [0.0, 0.0, 0.0, 0.25, 1.0]


# -- terms -------------------------------------------------------------------------------------------------
def test_an_empty_pool_scores_nothing_and_modes_and_scales_have_their_documented_defaults():
    scores = np.array([2.0, 8.0])
    assert normalised_score(scores, np.array([0]), np.array([], dtype=np.int64)) == 0.0
    assert sparse_values(scores, scores[::-1], np.array([0]), np.arange(2)) == \
        sparse_values(scores, scores[::-1], np.array([0]), np.arange(2), "score")
    unit = np.array([1.0, 0.0])
    assert semantic_values(unit, unit, np.array([[0.6, 0.8]])) == pytest.approx((6.0, 6.0))


def test_combine_fills_every_field_of_the_breakdown():
    config = RewardConfig(semantic_weight=0.5, repetition_penalty=1.0, ngram=2, truncation_penalty=0.25)
    text = "a b a b"  # bigrams ab, ba, ab: repetition 1/3 (trigrams would give 1/2)
    result = combine(config, sparse=(0.25, 0.75), semantic=(3.0, 5.0), text=text, truncated=True)
    assert result.as_dict() == pytest.approx({
        "total": 0.5 + 0.5 * 2.0 - 1 / 3 - 0.25, "sparse": 0.5, "semantic": 2.0, "length_penalty": 0.0,
        "repetition_penalty": 1 / 3, "truncation_penalty": 0.25, "failure": "", "sparse_query": 0.25,
        "sparse_reasoning": 0.75, "semantic_query": 3.0, "semantic_reasoning": 5.0, "words": 4})
    plain = combine(config)
    assert (plain.truncation_penalty, plain.words, plain.total) == (0.0, 0, 0.0)


# -- the scorer: every config choice reaches the score -----------------------------------------------------
def test_the_scorer_uses_the_index_and_embedder_it_is_given():
    index = Index.build(CORPUS, progress=False)
    embedder = LetterEmbedder()
    scorer = RewardScorer(CORPUS, RewardConfig(), index=index, embedder=embedder)
    assert scorer.index is index and scorer.embedder is embedder
    scorer.score(QUERY, REASONING, ["gold"])
    assert embedder.calls == 2  # the query once, then the reasoning with the positives
    RewardScorer(list(CORPUS), index=index)  # same documents in the same order: accepted
    with pytest.raises(ValueError, match="covers other documents"):
        RewardScorer(CORPUS[::-1], index=index)


def test_each_side_is_computed_only_when_weighted_and_the_semantic_one_scales_the_cosines():
    RewardScorer(CORPUS, RewardConfig(semantic_weight=0.0), embedder=Untouchable()).score(QUERY, REASONING, ["gold"])
    embedder = LetterEmbedder()
    config = RewardConfig(sparse_weight=0.0, semantic_scale=2.0)
    result = RewardScorer(CORPUS, config, index=Untouchable(), embedder=embedder).score(QUERY, REASONING, ["gold"])
    query, reasoning, gold = embedder.encode([QUERY, REASONING, GOLD.content])
    assert result.semantic_query == pytest.approx(2.0 * gold @ query)
    assert result.semantic_reasoning == pytest.approx(2.0 * gold @ reasoning)
    assert result.words == len(words_of(REASONING))
    via_reward = reward(QUERY, REASONING, [GOLD], config, negatives=OTHERS, embedder=LetterEmbedder())
    assert via_reward.total == pytest.approx(result.total)


def test_scoring_mode_pool_composition_and_think_format_reach_the_sparse_term():
    index = Index.build(CORPUS, progress=False)
    positives, pool = np.array([0]), np.arange(3)

    def by_hand(config: RewardConfig, reasoning: str) -> tuple[float, float]:
        measure = normalised_score if config.sparse_mode == "score" else reciprocal_rank
        composed = compose_query(REPEATED_QUERY, reasoning, config.composition, config.repeat)
        return (measure(index.scores(REPEATED_QUERY, config.scoring), positives, pool),
                measure(index.scores(composed, config.scoring), positives, pool))

    for config in (RewardConfig(semantic_weight=0, scoring="classic"),
                   RewardConfig(semantic_weight=0, sparse_mode="rank"),
                   RewardConfig(semantic_weight=0, composition="concat", repeat=3),
                   RewardConfig(semantic_weight=0, scoring="classic", composition="concat")):
        result = RewardScorer(CORPUS, config).score(REPEATED_QUERY, MIXED, ["gold"])
        assert (result.sparse_query, result.sparse_reasoning) == pytest.approx(by_hand(config, MIXED)), config
    think = RewardConfig(semantic_weight=0, think_format=True)
    result = RewardScorer(CORPUS, think).score(REPEATED_QUERY, f"<think>dogs bark</think><answer>{REASONING}</answer>",
                                               ["gold"])
    assert result.sparse_reasoning == pytest.approx(by_hand(think, REASONING)[1])
    assert result.words == len(words_of(REASONING))
    # the choices really change the numbers here, so the checks above can tell them apart
    values = {by_hand(config, MIXED) for config in (RewardConfig(), RewardConfig(scoring="classic"),
                                                     RewardConfig(sparse_mode="rank"),
                                                     RewardConfig(composition="concat", repeat=3))}
    assert len(values) == 4
    assert by_hand(RewardConfig(scoring="classic"), MIXED)[0] != by_hand(RewardConfig(), MIXED)[0]


def test_unknown_ids_name_their_side():
    scorer = RewardScorer(CORPUS, RewardConfig(semantic_weight=0, sparse_pool="candidates"))
    with pytest.raises(ValueError, match="positive document id.*'nope'"):
        scorer.score(QUERY, REASONING, ["nope"])
    with pytest.raises(ValueError, match="negative document id.*'gone'"):
        scorer.score(QUERY, REASONING, ["gold"], ["gone"])
    semantic_only = RewardScorer(CORPUS, RewardConfig(sparse_weight=0), embedder=LetterEmbedder())
    with pytest.raises(ValueError, match="positive document id.*'nope'"):
        semantic_only.score(QUERY, REASONING, ["nope"])


def test_reward_defaults_to_a_completion_that_ended():
    loop = "the cat the cat the cat " * 20
    assert reward(QUERY, loop, [GOLD], RewardConfig(semantic_weight=0)).failure == ""
    assert reward(QUERY, loop, [GOLD], RewardConfig(semantic_weight=0), truncated=True).failure == "looping"
    assert failure_reason(loop, RewardConfig()) == ""
    assert RewardScorer(CORPUS, RewardConfig(semantic_weight=0)).score(QUERY, loop, ["gold"]).failure == ""


# -- config validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes", [
    dict(min_letter_fraction=1.0), dict(min_distinct_ngrams=1.0), dict(min_letter_fraction=0.0),
    dict(ngram=1), dict(length_target=1), dict(repeat=1), dict(semantic_weight=0.0),
])
def test_limits_themselves_are_valid(changes):
    RewardConfig(**changes)


@pytest.mark.parametrize("changes, message", [
    (dict(min_letter_fraction=1.5), r"min_letter_fraction and min_distinct_ngrams must lie in \[0, 1\]$"),
    (dict(min_distinct_ngrams=1.5), r"min_letter_fraction and min_distinct_ngrams must lie in \[0, 1\]$"),
    (dict(min_distinct_ngrams=-0.1), r"min_letter_fraction and min_distinct_ngrams must lie in \[0, 1\]$"),
    (dict(ngram=0), "ngram, length_target and repeat must be at least 1$"),
    (dict(length_target=0), "ngram, length_target and repeat must be at least 1$"),
    (dict(repeat=0), "ngram, length_target and repeat must be at least 1$"),
    (dict(composition="fuse"), r"composition must be one of \('replace', 'concat'\) \(fuse has no one text to "
                               r"score\), got 'fuse'$"),
    (dict(length_penalty=-1.0), "length_penalty must be >= 0, got -1.0$"),
    (dict(sparse_pool="web"), r"sparse_pool must be one of \('corpus', 'candidates'\), got 'web'$"),
    (dict(sparse_weight=0, semantic_weight=0),
     "sparse_weight and semantic_weight are both 0: the reward would only see the rules$"),
])
def test_each_invalid_value_is_refused_by_name(changes, message):
    with pytest.raises(ValueError, match=f"^invalid reward config: {message}"):
        RewardConfig(**changes)


def test_config_files_are_readable_json_and_errors_name_their_source(tmp_path):
    path = RewardConfig(length_target=120).save(tmp_path / "reward.json")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "{" and lines[1].startswith('  "') and len(lines) == len(RewardConfig().to_dict()) + 2
    assert json.loads(path.read_text(encoding="utf-8"))["length_target"] == 120
    with pytest.raises(ValueError, match=r"^reward config: unknown field\(s\) typo"):
        RewardConfig.from_dict({"typo": 1})
    path.write_text(json.dumps({"typo": 1}))
    with pytest.raises(ValueError, match=rf"^{path}: unknown field\(s\) typo"):
        RewardConfig.load(path)
