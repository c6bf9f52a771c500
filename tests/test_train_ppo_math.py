"""PPO's pieces on small tensors whose answers are worked out by hand."""
from __future__ import annotations

import math

import pytest
import torch

from train import ppo_math


def test_gae_with_gamma_and_lambda_one_is_return_minus_value() -> None:
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.2, 0.1]])
    mask = torch.ones(1, 3)
    advantages, returns = ppo_math.generalized_advantages(rewards, values, mask, gamma=1.0, lam=1.0)
    assert torch.allclose(advantages, torch.tensor([[0.5, 0.8, 0.9]]))
    assert torch.allclose(returns, torch.tensor([[1.0, 1.0, 1.0]]))


def test_gae_with_lambda_zero_is_the_one_step_td_error() -> None:
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    values = torch.tensor([[0.5, 1.0, 2.0]])
    advantages, _ = ppo_math.generalized_advantages(rewards, values, torch.ones(1, 3), gamma=0.5, lam=0.0)
    # delta_t = r_t + 0.5 V_{t+1} - V_t, with V after the last token = 0
    assert torch.allclose(advantages, torch.tensor([[1.0 + 0.5 - 0.5, 2.0 + 1.0 - 1.0, 3.0 - 2.0]]))


def test_gae_discounts_and_stops_at_the_padding() -> None:
    rewards = torch.tensor([[0.0, 1.0, 7.0], [0.0, 0.0, 1.0]])
    values = torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])  # first row ended after two tokens
    advantages, returns = ppo_math.generalized_advantages(rewards, values, mask, gamma=0.9, lam=0.5)
    # row 0: A1 = 1; A0 = 0 + 0.9*0 - 0 + 0.9*0.5*1 = 0.45; padding ignored (its reward and value never leak in)
    assert torch.allclose(advantages[0], torch.tensor([0.45, 1.0, 0.0]))
    # row 1: A2 = 1, A1 = 0.45, A0 = 0.45 * 0.45
    assert torch.allclose(advantages[1], torch.tensor([0.2025, 0.45, 1.0]))
    assert torch.allclose(returns[0], torch.tensor([0.45, 1.0, 0.0]))


def test_clipped_policy_loss_takes_the_pessimistic_branch() -> None:
    mask = torch.ones(1, 1)
    old = torch.zeros(1, 1)
    up = torch.tensor([[math.log(1.5)]])  # ratio 1.5
    loss, clipped = ppo_math.clipped_policy_loss(up, old, torch.tensor([[2.0]]), mask, clip_range=0.2)
    assert loss.item() == pytest.approx(-2.0 * 1.2) and clipped.item() == 1.0  # gain capped at 1 + eps
    loss, clipped = ppo_math.clipped_policy_loss(up, old, torch.tensor([[-2.0]]), mask, clip_range=0.2)
    assert loss.item() == pytest.approx(2.0 * 1.5) and clipped.item() == 0.0  # a loss is never clipped away
    inside = torch.tensor([[math.log(1.1)]])
    loss, clipped = ppo_math.clipped_policy_loss(inside, old, torch.tensor([[2.0]]), mask, clip_range=0.2)
    assert loss.item() == pytest.approx(-2.2) and clipped.item() == 0.0


def test_policy_loss_ignores_masked_tokens_and_has_the_policy_gradient() -> None:
    logprobs = torch.zeros(1, 2, requires_grad=True)
    advantages = torch.tensor([[1.0, 100.0]])
    loss, _ = ppo_math.clipped_policy_loss(logprobs, torch.zeros(1, 2), advantages, torch.tensor([[1.0, 0.0]]))
    loss.backward()
    assert loss.item() == pytest.approx(-1.0)
    assert torch.allclose(logprobs.grad, torch.tensor([[-1.0, 0.0]]))  # raise the log-prob of a good token


def test_value_loss_clips_around_the_old_value() -> None:
    mask = torch.ones(1, 1)
    loss = ppo_math.clipped_value_loss(torch.tensor([[1.0]]), torch.tensor([[0.0]]), torch.tensor([[1.0]]), mask, 0.2)
    assert loss.item() == pytest.approx(0.5 * 0.8 ** 2)  # clipped value 0.2 is 0.8 away: the larger error counts
    loss = ppo_math.clipped_value_loss(torch.tensor([[0.1]]), torch.tensor([[0.0]]), torch.tensor([[1.0]]), mask, 0.2)
    assert loss.item() == pytest.approx(0.5 * 0.9 ** 2)


def test_kl_estimators() -> None:
    p = torch.tensor([[math.log(0.5), math.log(0.2)]])
    q = torch.tensor([[math.log(0.25), math.log(0.2)]])
    assert torch.allclose(ppo_math.kl_per_token(p, q, "k1"), torch.tensor([[math.log(2), 0.0]]))
    assert torch.allclose(ppo_math.kl_per_token(p, q, "k2"), torch.tensor([[0.5 * math.log(2) ** 2, 0.0]]))
    # k3 = r - 1 - log r with r = q/p = 0.5
    assert torch.allclose(ppo_math.kl_per_token(p, q, "k3"), torch.tensor([[0.5 - 1 - math.log(0.5), 0.0]]))
    assert (ppo_math.kl_per_token(q, p, "k3") >= 0).all()
    with pytest.raises(ValueError, match="k4"):
        ppo_math.kl_per_token(p, q, "k4")


def test_token_rewards_put_the_score_on_the_last_real_token() -> None:
    kl = torch.tensor([[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    rewards = ppo_math.token_rewards(torch.tensor([3.0, -1.0]), kl, mask, kl_coef=0.1)
    assert torch.allclose(rewards, torch.tensor([[-0.05, 2.95, 0.0], [-0.1, -0.1, -1.1]]))


def test_whitening_and_masked_mean() -> None:
    values = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert ppo_math.masked_mean(values, mask).item() == pytest.approx(2.0)
    assert torch.allclose(ppo_math.masked_whiten(values, mask), torch.tensor([[-1.0, 1.0, 0.0]]), atol=1e-4)
    assert torch.allclose(ppo_math.masked_mean(values, mask, dim=1), torch.tensor([2.0]))


def test_sequence_logprobs_and_entropy() -> None:
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]]))
    tokens = torch.tensor([[0, 1]])
    assert torch.allclose(ppo_math.sequence_logprobs(logits, tokens), torch.log(torch.tensor([[0.5, 0.8]])))
    uniform = torch.zeros(1, 1, 4)
    assert ppo_math.entropy(uniform, torch.ones(1, 1)).item() == pytest.approx(math.log(4))


# -- cases the hand-worked ones above left open (found by mutation testing, tests/README.md) ---------------
def test_policy_loss_clips_a_falling_ratio_against_a_negative_advantage_and_uses_the_old_logprobs() -> None:
    mask = torch.ones(1, 1)
    old = torch.tensor([[math.log(0.5)]])
    down = torch.tensor([[math.log(0.25)]])  # ratio p/p_old = 0.5, below 1 - 0.2
    loss, clipped = ppo_math.clipped_policy_loss(down, old, torch.tensor([[-2.0]]), mask)  # default clip 0.2
    assert loss.item() == pytest.approx(2.0 * 0.8) and clipped.item() == 1.0  # a bad token is pushed down only so far
    loss, clipped = ppo_math.clipped_policy_loss(down, old, torch.tensor([[2.0]]), mask)
    assert loss.item() == pytest.approx(-2.0 * 0.5) and clipped.item() == 0.0  # a lost gain is never clipped away
    loss, _ = ppo_math.clipped_policy_loss(down, old, torch.tensor([[2.0]]), mask, clip_range=0.6)
    assert loss.item() == pytest.approx(-2.0 * 0.5)


def test_value_loss_clips_a_fall_below_the_old_value_and_squares_the_error() -> None:
    mask = torch.ones(1, 1)
    # V moved from 1.0 down to 0.0 (clipped to 0.8 by the default 0.2), return 3: errors 3 and 2.2, the larger counts
    loss = ppo_math.clipped_value_loss(torch.tensor([[0.0]]), torch.tensor([[1.0]]), torch.tensor([[3.0]]), mask)
    assert loss.item() == pytest.approx(0.5 * 3.0 ** 2)
    # V moved from 1.0 up to 2.0 (clipped to 1.2), return 0: errors 2 and 1.2
    loss = ppo_math.clipped_value_loss(torch.tensor([[2.0]]), torch.tensor([[1.0]]), torch.tensor([[0.0]]), mask)
    assert loss.item() == pytest.approx(0.5 * 2.0 ** 2)
    # V moved from 1.0 down to 0.5 (clipped to 0.8), return 0.9: the clipped error 0.1 is smaller than 0.4
    loss = ppo_math.clipped_value_loss(torch.tensor([[0.5]]), torch.tensor([[1.0]]), torch.tensor([[0.9]]), mask)
    assert loss.item() == pytest.approx(0.5 * 0.4 ** 2)
    # V fell from 1.0 to 0.0 towards a return of 0.1: the clipped value 0.8 is 0.7 away, and that larger error counts
    loss = ppo_math.clipped_value_loss(torch.tensor([[0.0]]), torch.tensor([[1.0]]), torch.tensor([[0.1]]), mask)
    assert loss.item() == pytest.approx(0.5 * 0.7 ** 2)


def test_whitening_scales_to_unit_variance_and_can_keep_the_mean() -> None:
    values = torch.tensor([[2.0, 6.0, 10.0, 50.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    scale = math.sqrt(32 / 3)  # the masked values 2, 6, 10: mean 6, variance 32/3
    expected = torch.tensor([[-4 / scale, 0.0, 4 / scale, 0.0]])
    assert torch.allclose(ppo_math.masked_whiten(values, mask), expected, atol=1e-6)
    kept = ppo_math.masked_whiten(values, mask, shift_mean=False)
    assert torch.allclose(kept, (expected + 6.0) * mask, atol=1e-6)
    constant = ppo_math.masked_whiten(torch.full((1, 3), 5.0), torch.ones(1, 3))
    assert torch.equal(constant, torch.zeros(1, 3))  # eps keeps a zero variance finite


def test_masked_mean_along_a_dimension_and_over_nothing() -> None:
    values = torch.tensor([[1.0, 3.0, 5.0], [2.0, 4.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    assert torch.allclose(ppo_math.masked_mean(values, mask, dim=1), torch.tensor([3.0, 3.0]))
    assert torch.allclose(ppo_math.masked_mean(values, mask, dim=0), torch.tensor([1.5, 3.5, 5.0]))
    assert ppo_math.masked_mean(values, mask).item() == pytest.approx(15 / 5)
    assert ppo_math.masked_mean(values, torch.zeros(2, 3)).item() == 0.0  # nothing generated: 0, not NaN
    half = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(ppo_math.masked_mean(values, half, dim=1), torch.tensor([2.0, 0.0]))


def test_token_rewards_with_an_empty_completion_and_half_precision_scores() -> None:
    kl = torch.ones(2, 2)
    mask = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # the first row generated nothing at all
    rewards = ppo_math.token_rewards(torch.tensor([5.0, 1.0], dtype=torch.float16), kl, mask, kl_coef=0.5)
    assert rewards.dtype == torch.float32
    assert torch.allclose(rewards, torch.tensor([[5.0, 0.0], [0.5, 0.0]]))  # a score still lands at position 0


def test_default_estimator_and_advantage_settings_are_the_documented_ones() -> None:
    p, q = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.5, -1.0]])
    assert torch.equal(ppo_math.kl_per_token(p, q), ppo_math.kl_per_token(p, q, "k1"))
    rewards, values, mask = torch.tensor([[0.5, 1.0, 2.0]]), torch.tensor([[0.1, 0.7, 0.3]]), torch.ones(1, 3)
    default = ppo_math.generalized_advantages(rewards, values, mask)
    explicit = ppo_math.generalized_advantages(rewards, values, mask, gamma=1.0, lam=0.95)
    assert all(torch.equal(a, b) for a, b in zip(default, explicit))
    # one step by hand at gamma=1, lam=0.95: A2 = 2 - 0.3, A1 = 1 + 0.3 - 0.7 + 0.95 A2
    assert default[0][0, 1].item() == pytest.approx(0.6 + 0.95 * 1.7)


def test_gae_of_a_batch_whose_rows_differ_at_every_step() -> None:
    rewards = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    values = torch.tensor([[0.5, 2.0], [1.0, 0.0]])
    advantages, returns = ppo_math.generalized_advantages(rewards, values, torch.ones(2, 2), gamma=0.5, lam=0.5)
    # row 0: A1 = 0 - 2 = -2, A0 = 1 + 0.5*2 - 0.5 + 0.25*(-2) = 1.0; row 1: A1 = 3, A0 = 0 + 0 - 1 + 0.25*3
    assert torch.allclose(advantages, torch.tensor([[1.0, -2.0], [-0.25, 3.0]]))
    assert torch.allclose(returns, advantages + values)


def test_temperature_divides_the_logits_and_entropy_is_per_token() -> None:
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0]], [[0.0, 4.0], [1.0, 1.0]]])
    tokens = torch.tensor([[0, 1], [1, 0]])
    hot = ppo_math.sequence_logprobs(logits, tokens, temperature=2.0)
    assert hot[0, 0].item() == pytest.approx(math.log(math.e / (math.e + 1)))  # softmax([1, 0])[0]
    assert hot[1, 0].item() == pytest.approx(math.log(math.e ** 2 / (math.e ** 2 + 1)))
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    expected = (ppo_math.entropy(logits[:1, :1], torch.ones(1, 1)) + math.log(2)
                + ppo_math.entropy(logits[1:, :1], torch.ones(1, 1))) / 3
    assert ppo_math.entropy(logits, mask).item() == pytest.approx(expected.item())
    two_way = -(0.5 * math.log(0.5)) * 2
    assert ppo_math.entropy(torch.zeros(3, 4, 2), torch.ones(3, 4)).item() == pytest.approx(two_way)


def test_gae_of_one_token_completions() -> None:
    advantages, returns = ppo_math.generalized_advantages(torch.tensor([[2.0], [0.5]]), torch.tensor([[0.5], [1.0]]),
                                                          torch.ones(2, 1), gamma=0.9, lam=0.9)
    assert torch.allclose(advantages, torch.tensor([[1.5], [-0.5]])) and torch.allclose(returns, torch.tensor([[2.0], [0.5]]))
