"""PPO's mathematics on token tensors, kept apart from the training loop so each piece is tested on known answers.

Shapes: every per-token tensor is [batch, completion_length]; `mask` is 1 on generated tokens (up to and
including the end-of-turn token) and 0 on the padding after it. The episode is one completion; the reward model's
score arrives at its last token, and a per-token KL penalty against the frozen reference policy is added at
every token (Ziegler et al. 2019; Ouyang et al. 2022), so the policy may move only as far as the reward pays for.
"""
from __future__ import annotations

from typing import Any

KL_ESTIMATORS = ("k1", "k2", "k3")


def masked_mean(values: Any, mask: Any, dim: int | None = None) -> Any:
    """Mean over the positions where mask is 1 (all of them, or along `dim`)."""
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1)
    return (values * mask).sum(dim=dim) / mask.sum(dim=dim).clamp(min=1)


def masked_whiten(values: Any, mask: Any, shift_mean: bool = True, eps: float = 1e-8) -> Any:
    """Standardise over the masked positions (zero mean unless shift_mean=False, unit variance)."""
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    whitened = (values - mean) * (variance + eps).rsqrt()
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def kl_per_token(logprobs: Any, ref_logprobs: Any, kind: str = "k1") -> Any:
    """Per-token estimate of KL(policy || reference) from log-probabilities of the sampled tokens.

    k1 = log p - log q (unbiased, can be negative per token); k2 = (log p - log q)^2 / 2; k3 = (r - 1) - log r with
    r = q / p (unbiased and never negative; Schulman's "approximating KL divergence").
    """
    log_ratio = logprobs - ref_logprobs
    if kind == "k1":
        return log_ratio
    if kind == "k2":
        return 0.5 * log_ratio ** 2
    if kind == "k3":
        return (-log_ratio).exp() - 1 + log_ratio
    raise ValueError(f"unknown KL estimator {kind!r}; choose one of {', '.join(KL_ESTIMATORS)}")


def token_rewards(scores: Any, kl: Any, mask: Any, kl_coef: float) -> Any:
    """Per-token rewards: -kl_coef * KL at every generated token, plus the sequence's score at its last token."""
    import torch

    rewards = -kl_coef * kl * mask
    last = (mask.sum(dim=1) - 1).clamp(min=0).long()
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores.to(rewards.dtype)
    return rewards


def generalized_advantages(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 0.95
                           ) -> tuple[Any, Any]:
    """GAE (Schulman et al. 2016): A_t = sum_k (gamma*lam)^k delta_{t+k}, delta_t = r_t + gamma V_{t+1} - V_t,
    with V = 0 after the last generated token. Returns (advantages, returns = advantages + values), masked."""
    import torch

    length = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(length)):
        next_mask = mask[:, t + 1] if t + 1 < length else torch.zeros_like(mask[:, 0])
        next_value = values[:, t + 1] * next_mask if t + 1 < length else torch.zeros_like(values[:, 0])
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * next_mask * running
        advantages[:, t] = running
    advantages = advantages * mask
    return advantages, (advantages + values) * mask


def clipped_policy_loss(logprobs: Any, old_logprobs: Any, advantages: Any, mask: Any, clip_range: float = 0.2
                        ) -> tuple[Any, Any]:
    """PPO's clipped surrogate, negated for minimisation: mean of max(-A r, -A clip(r, 1-e, 1+e)), r = p/p_old.

    Returns (loss, fraction of tokens where the clipped branch was taken)."""
    ratio = (logprobs - old_logprobs).exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip_range, 1.0 + clip_range)
    loss = masked_mean(unclipped.maximum(clipped), mask)
    clip_fraction = masked_mean((clipped > unclipped).float(), mask)
    return loss, clip_fraction


def clipped_value_loss(values: Any, old_values: Any, returns: Any, mask: Any, clip_range: float = 0.2) -> Any:
    """Value regression with PPO's value clipping: 0.5 * mean of max((V - R)^2, (V_clipped - R)^2)."""
    clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
    return 0.5 * masked_mean(((values - returns) ** 2).maximum((clipped - returns) ** 2), mask)


def sequence_logprobs(logits: Any, tokens: Any, temperature: float = 1.0) -> Any:
    """log p(token) under softmax(logits / temperature), gathered at each sampled token: [batch, length]."""
    import torch

    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def entropy(logits: Any, mask: Any) -> Any:
    """Mean per-token entropy of the policy's distribution over the masked positions (a collapse monitor)."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    return masked_mean(-(logp.exp() * logp).sum(dim=-1), mask)
