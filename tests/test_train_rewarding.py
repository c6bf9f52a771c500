"""Truncation and the failure rules as the trainers reach them: GRPO through `RewardFunction` (TRL passes the
completion ids), PPO through the `truncated` flags of the policy's own rollouts, both ending in
`RewardScorer.score`. The reward's truncation penalty and its looping rule only exist for a completion cut at
the token limit, so the limit itself, one token below it, and a stop token exactly at it are all checked.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from train.rewarding import RewardFunction, completion_text
from tsqr.records import Document
from tsqr.reward import FAILURES, RewardConfig, RewardScorer

GOLD = Document("gold", "Purring is driven by a neural oscillator that makes the laryngeal muscles twitch, "
                        "rapidly opening and closing the glottis while the cat breathes in and out.")
OTHERS = [Document("dogs", "Dogs bark and howl to communicate with their owners and with other dogs."),
          Document("bread", "Sourdough bread rises because wild yeast and lactic bacteria ferment the flour.")]
QUERY = "why do cats purr"
GOOD = "A neural oscillator makes the laryngeal muscles twitch so the glottis opens and closes."
LOOP = "the cat the cat the cat " * 20
LIMIT, STOP = 8, 2
CONFIG = RewardConfig(semantic_weight=0.0, truncation_penalty=0.25, failure_penalty=-2.5)


@pytest.fixture(scope="module")
def reward_function() -> RewardFunction:
    return RewardFunction(RewardScorer([GOLD, *OTHERS], CONFIG), max_completion_tokens=LIMIT, stop_ids={STOP})


def call(function: RewardFunction, completions: list, completion_ids: list | None, logged: dict | None = None
         ) -> list[float]:
    count = len(completions)
    return function(prompts=["p"] * count, completions=completions, query=[QUERY] * count,
                    positive_ids=[["gold"]] * count, negative_ids=[["dogs"]] * count, completion_ids=completion_ids,
                    log_metric=None if logged is None else logged.__setitem__)


def test_a_completion_at_the_token_limit_pays_the_truncation_penalty_one_below_does_not(reward_function):
    at_limit, below, ends_at_limit = [5] * LIMIT, [5] * (LIMIT - 1), [5] * (LIMIT - 1) + [STOP]
    logged: dict[str, float] = {}
    totals = call(reward_function, [GOOD] * 3, [at_limit, below, ends_at_limit], logged)
    penalties = [b.truncation_penalty for b in reward_function.last]
    assert penalties == [0.25, 0.0, 0.0]  # a stop token as the last allowed token means the completion ended
    assert totals[1] - totals[0] == pytest.approx(0.25) and totals[1] == totals[2]
    assert logged["reward_terms/truncation_penalty"] == pytest.approx(0.25 / 3)
    assert logged["reward_terms/total"] == pytest.approx(sum(totals) / 3)
    assert [b.total for b in reward_function.last] == totals


def test_a_loop_is_a_failure_only_when_the_limit_cut_it(reward_function):
    logged: dict[str, float] = {}
    totals = call(reward_function, [LOOP, LOOP], [[5] * LIMIT, [5] * (LIMIT - 1)], logged)
    assert [b.failure for b in reward_function.last] == ["looping", ""]
    assert totals[0] == CONFIG.failure_penalty != totals[1]
    assert logged["reward_terms/failure_rate"] == 0.5


def test_without_completion_ids_or_a_limit_nothing_counts_as_truncated():
    scorer = RewardScorer([GOLD, *OTHERS], CONFIG)
    assert call(RewardFunction(scorer, LIMIT), [LOOP], None) != [CONFIG.failure_penalty]
    assert call(RewardFunction(scorer, None), [LOOP], [[5] * 50]) != [CONFIG.failure_penalty]


def test_conversational_completions_are_read_as_their_text(reward_function):
    [as_turns] = call(reward_function, [[{"role": "assistant", "content": GOOD}]], [[5]])
    [as_text] = call(reward_function, [GOOD], [[5]])
    assert as_turns == as_text
    with pytest.raises(TypeError, match="int"):
        completion_text(3)


@pytest.mark.parametrize("kind, completion, config, truncated", [
    ("empty", "  <|im_end|>", CONFIG, False),
    ("format", GOOD, RewardConfig(semantic_weight=0.0, failure_penalty=-2.5, think_format=True), False),
    ("garbage", "!!! ### 1234 5678 90 %%% $$$", CONFIG, False),
    ("looping", LOOP, CONFIG, True),
])
def test_every_failure_kind_scores_the_failure_penalty_and_nothing_else(kind, completion, config, truncated):
    scorer = RewardScorer([GOLD, *OTHERS], config)
    breakdown = scorer.score(QUERY, completion, ["gold"], ["dogs"], truncated=truncated)
    assert breakdown.failure == kind and breakdown.total == -2.5
    assert (breakdown.sparse, breakdown.semantic, breakdown.truncation_penalty, breakdown.words) == (0, 0, 0, 0)
    assert kind in FAILURES


def test_score_examples_passes_the_ppo_flags_through():
    from train.dataset import TrainExample

    function = RewardFunction(RewardScorer([GOLD, *OTHERS], CONFIG), LIMIT)
    example = TrainExample(id="q1", query=QUERY, positive_ids=("gold",), negative_ids=("dogs",))
    flagged, ended = function.score_examples([example, example], [LOOP, LOOP], [True, False])
    assert (flagged.failure, ended.failure) == ("looping", "")
    cut, whole = function.score_examples([example, example], [GOOD, GOOD], [True, False])
    assert (cut.truncation_penalty, whole.truncation_penalty) == (0.25, 0.0)


# -- the policy's rollouts: which completions the token limit cut ------------------------------------------
@pytest.fixture(scope="module")
def tiny_policy(tiny_policy_folder: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from train.policy import prepare_tokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_policy_folder).eval()
    return model, prepare_tokenizer(AutoTokenizer.from_pretrained(tiny_policy_folder))


def sampled(model, tokenizer, prompts: list[str]):
    """A seeded sampled rollout, as PPO draws them: the same seed gives the same tokens until a row stops."""
    import torch

    from train.policy import generate

    torch.manual_seed(11)
    return generate(model, tokenizer, prompts, max_new_tokens=LIMIT, temperature=1.0)


@pytest.mark.slow
def test_rollout_flags_mark_exactly_the_completions_the_limit_cut(tiny_policy):
    """Rollouts of a random policy over a 49k vocabulary practically never stop by themselves; making a token
    one of them writes midway a stop token ends it there, and only completions without a stop token are flagged
    truncated."""
    from train.policy import render_prompts

    model, tokenizer = tiny_policy
    prompts = render_prompts(tokenizer, ["why do cats purr", "why does bread rise"])
    cut = sampled(model, tokenizer, prompts)
    assert cut.truncated == [True, True] and cut.completion_mask.sum().item() == 2 * LIMIT
    first_row = cut.completion_ids[0].tolist()
    stop_at = next(i for i in range(2, LIMIT - 1) if first_row[i] not in first_row[:i])  # a token first seen at i
    original = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = first_row[stop_at]
    try:
        ended = sampled(model, tokenizer, prompts)
    finally:
        model.generation_config.eos_token_id = original
    stops = {first_row[stop_at], tokenizer.eos_token_id}
    rows = ended.completion_ids.tolist()
    assert ended.truncated == [not stops & set(row) for row in rows] and ended.truncated[0] is False
    assert ended.completion_mask[0].tolist() == [1] * (stop_at + 1) + [0] * (len(rows[0]) - stop_at - 1)
    assert rows[0][:stop_at + 1] == first_row[:stop_at + 1]  # the same greedy path, ended at the stop token


@pytest.mark.slow
def test_grpo_counts_a_stop_token_at_the_limit_as_ended(tiny_policy):
    """What GRPO's reward is given as stop tokens are the policy's own (so the two trainers agree on the limit)."""
    from train.policy import stop_token_ids

    model, tokenizer = tiny_policy
    stops = stop_token_ids(model, tokenizer)
    assert tokenizer.eos_token_id in stops
    function = RewardFunction(RewardScorer([GOLD, *OTHERS], CONFIG), LIMIT, stops)
    call(function, [GOOD, GOOD], [[5] * (LIMIT - 1) + [stops[0]], [5] * LIMIT])
    assert [b.truncation_penalty for b in function.last] == [0.0, 0.25]

