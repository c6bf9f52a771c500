"""PPO for query reasoning: a compact, readable trainer on transformers + accelerate (TRL no longer ships one).

Usage:
    python -m train.ppo --data data/smoke --output checkpoints/ppo-smoke --steps 20 --prompts-per-step 4
    accelerate launch --config_file train/configs/multi_gpu.yaml -m train.ppo --data ... --output ...

One step: sample completions for a batch of training queries from the current policy; score each with the
reward (tsqr.reward, at the completion's last token); compute per-token KL to the frozen reference policy
(the start model, or the base weights under LoRA) as a penalty; estimate advantages with GAE on a value head
that shares the policy's trunk; then run a few epochs of clipped-surrogate updates on minibatches. The maths
is in train/ppo_math.py, tested on tensors with known answers.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Run as a script (`python train/ppo.py`), Python puts train/ itself first on sys.path, where `train` cannot
# be imported; the checkout root takes its place, which is what `python -m train.ppo` from the root gives.
if __name__ == "__main__" and not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from train import ppo_math
from train.cli import run_trainer, trainer_parser
from train.dataset import TrainExample, TrainingSet
from train.heldout import evaluate_policy
from train.model_card import CardInfo, write_run_files
from train.policy import LoraSettings, apply_lora, generate, load_policy, render_prompts, save_checkpoint
from train.rewarding import RewardFunction, summarize
from train.run_log import RunLog
from tsqr.reward import RewardConfig


@dataclass(frozen=True)
class PPOSettings:
    """Every PPO knob; saved in the checkpoint's training_config.json."""

    steps: int = 100
    prompts_per_step: int = 8
    samples_per_prompt: int = 1
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    learning_rate: float = 1e-6
    value_learning_rate: float = 1e-5
    ppo_epochs: int = 2
    minibatch_size: int = 4
    clip_range: float = 0.2
    value_clip_range: float = 0.2
    value_coef: float = 0.1
    gamma: float = 1.0
    lam: float = 0.95
    kl_coef: float = 0.05
    kl_estimator: str = "k1"
    whiten_advantages: bool = True
    max_grad_norm: float = 1.0
    gradient_checkpointing: bool = False
    lora: LoraSettings = field(default_factory=LoraSettings)
    template: str = "tongsearch"
    seed: int = 0
    save_every: int = 50
    heldout_before: bool = False

    def __post_init__(self) -> None:
        if min(self.steps, self.prompts_per_step, self.samples_per_prompt, self.max_new_tokens, self.ppo_epochs,
               self.minibatch_size) < 1:
            raise ValueError("steps, prompts_per_step, samples_per_prompt, max_new_tokens, ppo_epochs and "
                             "minibatch_size must all be at least 1")
        if self.kl_estimator not in ppo_math.KL_ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {ppo_math.KL_ESTIMATORS}, got {self.kl_estimator!r}")
        if self.temperature <= 0:
            raise ValueError("PPO samples its rollouts: temperature must be > 0")


def with_value_head(policy: Any) -> Any:
    """The causal LM plus a scalar value head on its last hidden state, as one module (shared trunk)."""
    import torch

    class PolicyWithValueHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.policy = policy
            hidden = policy.config.get_text_config().hidden_size
            self.value_head = torch.nn.Linear(hidden, 1)
            torch.nn.init.normal_(self.value_head.weight, std=1.0 / math.sqrt(hidden + 1))
            torch.nn.init.zeros_(self.value_head.bias)

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0)
            out = self.policy(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                              output_hidden_states=True, use_cache=False)
            values = self.value_head(out.hidden_states[-1].to(self.value_head.weight.dtype)).squeeze(-1)
            return out.logits, values

    return PolicyWithValueHead()


@dataclass
class Batch:
    """One step's rollouts with everything the PPO epochs need (tensors on the training device)."""

    input_ids: Any
    attention_mask: Any
    completion_ids: Any
    mask: Any
    old_logprobs: Any
    old_values: Any
    advantages: Any
    returns: Any
    stats: dict[str, float]


def completion_slice(logits_or_values: Any, prompt_length: int, completion_length: int) -> Any:
    """Outputs at the positions that predict the completion tokens (the last prompt token onwards)."""
    return logits_or_values[:, prompt_length - 1: prompt_length - 1 + completion_length]


class PPOTrainer:
    """Owns the models, the optimiser and the loop; `train()` runs it and writes the checkpoint."""

    def __init__(self, start: str, data: str | Path, output: str | Path, settings: PPOSettings,
                 reward_config: RewardConfig, resume: bool = False) -> None:
        import torch
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        self.settings, self.reward_config, self.start = settings, reward_config, start
        self.data, self.output = str(data), Path(output)
        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        self.accelerator = Accelerator(mixed_precision="bf16" if bf16 else "no")
        set_seed(settings.seed + self.accelerator.process_index)
        self.training_set = TrainingSet.read(data)
        device = str(self.accelerator.device)
        policy, self.tokenizer, self.location = load_policy(start, device)
        if settings.gradient_checkpointing:
            policy.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.reference = None
        if settings.lora.r <= 0:
            self.reference = copy.deepcopy(policy).eval().requires_grad_(False)
        policy = apply_lora(policy, settings.lora)
        model = with_value_head(policy).to(device)
        groups = [{"params": [p for p in model.policy.parameters() if p.requires_grad], "lr": settings.learning_rate},
                  {"params": list(model.value_head.parameters()), "lr": settings.value_learning_rate}]
        optimizer = torch.optim.AdamW(groups)
        plugin = self.accelerator.state.deepspeed_plugin
        if plugin is not None:  # DeepSpeed sizes its buffers from a batch size it cannot infer without a dataloader
            plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = settings.minibatch_size
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        self.reward = RewardFunction.for_documents(self.training_set.documents, reward_config, settings.max_new_tokens)
        self.log = RunLog(self.output / "training")
        self.first_step = self._resume() if resume else 1

    # ------------------------------------------------------------------------------------------- data and state
    def batch_examples(self, step: int) -> list[TrainExample]:
        """This process's queries for `step`: a seeded shuffle per epoch, so a resumed run sees the same order."""
        examples = self.training_set.examples
        per_step = self.settings.prompts_per_step * self.accelerator.num_processes
        start = (step - 1) * per_step
        chosen = []
        for offset in range(start, start + per_step):
            epoch, position = divmod(offset, len(examples))
            order = list(range(len(examples)))
            random.Random(self.settings.seed + epoch).shuffle(order)
            chosen.append(examples[order[position]])
        mine = chosen[self.accelerator.process_index::self.accelerator.num_processes]
        return [example for example in mine for _ in range(self.settings.samples_per_prompt)]

    def _state_folder(self) -> Path:
        return self.output / "training" / "state"

    def _save_state(self, step: int) -> None:
        self.accelerator.save_state(str(self._state_folder()))
        if self.accelerator.is_main_process:
            (self._state_folder() / "progress.json").write_text(json.dumps({"step": step}), encoding="utf-8")

    def _resume(self) -> int:
        progress = self._state_folder() / "progress.json"
        if not progress.is_file():
            raise ValueError(f"--resume: no saved state in {self._state_folder()} (it is written every --save-every "
                             "steps)")
        self.accelerator.load_state(str(self._state_folder()))
        return json.loads(progress.read_text(encoding="utf-8"))["step"] + 1

    # ------------------------------------------------------------------------------------------- one step
    def _reference_logprobs(self, input_ids: Any, attention_mask: Any, prompt_length: int, tokens: Any) -> Any:
        import torch

        position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0)
        with torch.no_grad():
            if self.reference is None:  # LoRA: the reference is the base model with the adapters switched off
                policy = self.accelerator.unwrap_model(self.model).policy
                with policy.disable_adapter():
                    logits = policy(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                    use_cache=False).logits
            else:
                logits = self.reference(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                        use_cache=False).logits
        return ppo_math.sequence_logprobs(completion_slice(logits, prompt_length, tokens.shape[1]), tokens,
                                          self.settings.temperature)

    def rollout(self, examples: Sequence[TrainExample]) -> Batch:
        """Generate, score, and prepare advantages for one batch of queries."""
        import torch

        settings = self.settings
        unwrapped = self.accelerator.unwrap_model(self.model)
        unwrapped.eval()
        prompts = render_prompts(self.tokenizer, [e.query for e in examples], settings.template)
        out = generate(unwrapped.policy, self.tokenizer, prompts, max_new_tokens=settings.max_new_tokens,
                       temperature=settings.temperature, top_p=settings.top_p)
        breakdowns = self.reward.score_examples(examples, out.texts, out.truncated)
        scores = torch.tensor([b.total for b in breakdowns], dtype=torch.float32, device=out.completion_ids.device)
        input_ids = torch.cat([out.prompt_ids, out.completion_ids], dim=1)
        attention_mask = torch.cat([out.prompt_mask, out.completion_mask], dim=1)
        prompt_length, tokens, mask = out.prompt_ids.shape[1], out.completion_ids, out.completion_mask.float()
        with torch.no_grad():
            logits, values = self.model(input_ids, attention_mask)
            logits = completion_slice(logits, prompt_length, tokens.shape[1])
            old_logprobs = ppo_math.sequence_logprobs(logits, tokens, settings.temperature)
            old_values = completion_slice(values, prompt_length, tokens.shape[1]).float() * mask
        ref_logprobs = self._reference_logprobs(input_ids, attention_mask, prompt_length, tokens)
        kl = ppo_math.kl_per_token(old_logprobs, ref_logprobs, settings.kl_estimator) * mask
        rewards = ppo_math.token_rewards(scores, kl, mask, settings.kl_coef)
        advantages, returns = ppo_math.generalized_advantages(rewards, old_values, mask, settings.gamma, settings.lam)
        if settings.whiten_advantages:
            advantages = ppo_math.masked_whiten(advantages, mask)
        stats = {f"reward/{k}": v for k, v in summarize(breakdowns).items()}
        stats.update({"kl": float(kl.sum(dim=1).mean()), "entropy": float(ppo_math.entropy(logits, mask)),
                      "completion_tokens": float(mask.sum(dim=1).mean())})
        unwrapped.train()
        return Batch(input_ids, attention_mask, tokens, mask, old_logprobs, old_values, advantages, returns, stats)

    def optimise(self, batch: Batch) -> dict[str, float]:
        """The clipped-surrogate epochs over minibatches of one rollout batch."""
        import torch

        settings = self.settings
        prompt_length = batch.input_ids.shape[1] - batch.completion_ids.shape[1]
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "clip_fraction": 0.0}
        updates = 0
        for _ in range(settings.ppo_epochs):
            order = torch.randperm(batch.input_ids.shape[0]).tolist()
            for start in range(0, len(order), settings.minibatch_size):
                rows = order[start:start + settings.minibatch_size]
                logits, values = self.model(batch.input_ids[rows], batch.attention_mask[rows])
                length = batch.completion_ids.shape[1]
                logprobs = ppo_math.sequence_logprobs(completion_slice(logits, prompt_length, length),
                                                      batch.completion_ids[rows], settings.temperature)
                values = completion_slice(values, prompt_length, length).float()
                policy_loss, clip_fraction = ppo_math.clipped_policy_loss(
                    logprobs, batch.old_logprobs[rows], batch.advantages[rows], batch.mask[rows], settings.clip_range)
                value_loss = ppo_math.clipped_value_loss(values, batch.old_values[rows], batch.returns[rows],
                                                         batch.mask[rows], settings.value_clip_range)
                self.accelerator.backward(policy_loss + settings.value_coef * value_loss)
                self.accelerator.clip_grad_norm_(self.model.parameters(), settings.max_grad_norm)
                self.optimizer.step()
                self.optimizer.zero_grad()
                for name, value in (("policy_loss", policy_loss), ("value_loss", value_loss),
                                    ("clip_fraction", clip_fraction)):
                    totals[name] += value.item()
                updates += 1
        return {name: total / updates for name, total in totals.items()}

    # ------------------------------------------------------------------------------------------- the run
    def evaluate_heldout(self) -> Any:
        if not self.training_set.heldout:
            return None
        return evaluate_policy(self.accelerator.unwrap_model(self.model).policy, self.tokenizer,
                               self.training_set.heldout, self.training_set.documents, self.reward,
                               max_new_tokens=self.settings.max_new_tokens, template=self.settings.template)

    def train(self) -> Path:
        """Run the remaining steps, save state every `save_every`, then write the checkpoint and its card."""
        from tqdm.auto import tqdm

        settings, began = self.settings, time.perf_counter()
        before = self.evaluate_heldout() if settings.heldout_before and self.first_step == 1 else None
        steps = range(self.first_step, settings.steps + 1)
        for step in tqdm(steps, desc="PPO", unit="step", disable=not self.accelerator.is_main_process):
            started = time.perf_counter()
            batch = self.rollout(self.batch_examples(step))
            stats = {**batch.stats, **self.optimise(batch), "step_seconds": time.perf_counter() - started}
            if self.accelerator.is_main_process:
                self.log.append(step, stats)
            if step % settings.save_every == 0 and step < settings.steps:
                self._save_state(step)
        self.accelerator.wait_for_everyone()
        after = self.evaluate_heldout()
        if self.accelerator.is_main_process:
            self.log.plot(f"PPO reward terms ({self.output.name})")
            save_checkpoint(self.accelerator.unwrap_model(self.model).policy, self.tokenizer, self.output)
            write_run_files(self.output, CardInfo(
                base_model=self.start, trainer="ppo", data=self.data,
                data_counts=self.training_set.manifest.get("counts", {"train": len(self.training_set.examples)}),
                reward_config=self.reward_config.to_dict(), training_config=asdict(settings), steps=settings.steps,
                seconds=time.perf_counter() - began, template=settings.template, before=before, after=after))
        return self.output


def build_parser() -> argparse.ArgumentParser:
    return trainer_parser("python -m train.ppo", __doc__, PPOSettings)


def main(argv: Sequence[str] | None = None) -> int:
    return run_trainer(build_parser(), PPOSettings, argv, lambda request: PPOTrainer(
        request.start, request.data, request.output, request.settings, request.reward_config,
        resume=request.resume).train())


if __name__ == "__main__":
    sys.exit(main())
