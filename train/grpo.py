"""GRPO for query reasoning with TRL's GRPOTrainer and tsqr's reward, as TongSearch QR trained its models.

Usage:
    python -m train.grpo --data data/smoke --output checkpoints/grpo-smoke --steps 10 --num-generations 4 \
        --per-device-batch-size 4 --gradient-accumulation-steps 1 --max-completion-length 64      # CPU smoke run
    accelerate launch --config_file train/configs/single_gpu.yaml -m train.grpo --data ... --output ... --use-vllm
    accelerate launch --config_file train/configs/deepspeed_zero2.yaml -m train.grpo --data ... --output ... \
        --use-vllm --vllm-mode server      # after `trl vllm-serve --model <start folder>` on a spare GPU

The defaults are the public code's settings (scripts/train/train_grpo.py and run_train.sh in
bigai-nlco/TongSearch-QR, which ran TRL 0.23): lr 1e-6, beta 0.008, 16 generations per query, completions up
to 500 tokens, 150 steps, per-device batch 16 x 4 accumulation, AdamW betas (0.9, 0.99), weight decay 0.1, 10%
warmup then cosine down to 10% of the peak, gradient clipping at 0.1, bf16 and activation checkpointing on GPUs.
Every one is set explicitly, because current TRL's defaults differ (beta 0.0, lr schedule linear, betas 0.999).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Run as a script (`python train/grpo.py`), Python puts train/ itself first on sys.path, where `train` cannot
# be imported; the checkout root takes its place, which is what `python -m train.grpo` from the root gives.
if __name__ == "__main__" and not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from train.cli import run_trainer, trainer_parser
from train.dataset import TrainExample, TrainingSet
from train.heldout import evaluate_policy
from train.model_card import CardInfo, write_run_files
from train.policy import LoraSettings, load_policy, prompt_messages, save_checkpoint, stop_token_ids
from train.rewarding import RewardFunction
from train.run_log import RunLog
from tsqr.reward import RewardConfig


@dataclass(frozen=True)
class GRPOSettings:
    """The GRPO knobs tsqr exposes; the defaults are TongSearch QR's public training settings."""

    steps: int = 150
    learning_rate: float = 1e-6
    beta: float = 0.008
    num_generations: int = 16
    max_completion_length: int = 500
    per_device_batch_size: int = 16
    gradient_accumulation_steps: int = 4
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    epsilon: float = 0.2
    temperature: float = 1.0
    top_p: float = 1.0
    weight_decay: float = 0.1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.99
    warmup_ratio: float = 0.1
    min_lr_rate: float = 0.1
    max_grad_norm: float = 0.1
    activation_checkpointing: bool = True
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    vllm_server_host: str = "0.0.0.0"
    vllm_server_port: int = 8000
    vllm_gpu_memory_utilization: float = 0.3
    save_every: int = 50
    seed: int = 5202
    template: str = "tongsearch"
    heldout_before: bool = False
    lora: LoraSettings = field(default_factory=LoraSettings)

    def __post_init__(self) -> None:
        if min(self.steps, self.num_generations, self.max_completion_length, self.per_device_batch_size,
               self.gradient_accumulation_steps) < 1:
            raise ValueError("steps, num_generations, max_completion_length, per_device_batch_size and "
                             "gradient_accumulation_steps must all be at least 1")
        if self.num_generations < 2:
            raise ValueError("GRPO compares generations of one prompt: num_generations must be at least 2")
        if (self.per_device_batch_size * self.gradient_accumulation_steps) % self.num_generations:
            raise ValueError(f"per_device_batch_size x gradient_accumulation_steps "
                             f"({self.per_device_batch_size} x {self.gradient_accumulation_steps}) must be a multiple "
                             f"of num_generations ({self.num_generations}): each prompt's group is scored together")
        if self.vllm_mode not in ("colocate", "server"):
            raise ValueError(f"vllm_mode must be 'colocate' or 'server', got {self.vllm_mode!r}")


def trl_config(settings: GRPOSettings, output_dir: Path) -> Any:
    """TRL's GRPOConfig with every setting explicit (TRL defaults move between releases; the paper's do not)."""
    import torch
    from trl import GRPOConfig

    on_gpu = torch.cuda.is_available()
    return GRPOConfig(
        output_dir=str(output_dir), max_steps=settings.steps, learning_rate=settings.learning_rate,
        beta=settings.beta, num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps, loss_type=settings.loss_type,
        scale_rewards=settings.scale_rewards, epsilon=settings.epsilon, temperature=settings.temperature,
        top_p=settings.top_p, top_k=0, repetition_penalty=1.0, weight_decay=settings.weight_decay,
        adam_beta1=settings.adam_beta1, adam_beta2=settings.adam_beta2, warmup_steps=settings.warmup_ratio,
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": settings.min_lr_rate},
        max_grad_norm=settings.max_grad_norm, bf16=on_gpu and torch.cuda.is_bf16_supported(), use_cpu=not on_gpu,
        activation_checkpointing=settings.activation_checkpointing and on_gpu,
        activation_checkpointing_kwargs={"use_reentrant": False}, use_vllm=settings.use_vllm,
        vllm_mode=settings.vllm_mode, vllm_server_host=settings.vllm_server_host,
        vllm_server_port=settings.vllm_server_port,
        vllm_gpu_memory_utilization=settings.vllm_gpu_memory_utilization, logging_steps=1,
        save_strategy="steps", save_steps=settings.save_every, seed=settings.seed, report_to="none",
        disable_tqdm=False)


def trl_dataset(examples: Sequence[TrainExample], template: str) -> Any:
    """A `datasets.Dataset` with TRL's conversational `prompt` column plus the columns the reward reads."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": prompt_messages(e.query, template), "query": e.query,
                               "positive_ids": list(e.positive_ids), "negative_ids": list(e.negative_ids)}
                              for e in examples])


def log_callback(run_log: RunLog) -> Any:
    """A TrainerCallback copying every TRL log record (loss, kl, rewards, our reward terms) into the run log."""
    from transformers import TrainerCallback

    class CopyLogs(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
            if logs and state.is_world_process_zero and "train_runtime" not in logs:
                run_log.append(state.global_step, logs)

    return CopyLogs()


def train(start: str, data: str | Path, output: str | Path, settings: GRPOSettings, reward_config: RewardConfig,
          resume: bool = False) -> Path:
    """Run GRPO from `start` on the dataset folder `data`; write the checkpoint, logs and card to `output`."""
    from trl import GRPOTrainer

    began, output = time.perf_counter(), Path(output)
    training_set = TrainingSet.read(data)
    model, tokenizer, _ = load_policy(start)
    peft_config = None
    if settings.lora.r > 0:
        from peft import LoraConfig

        peft_config = LoraConfig(r=settings.lora.r, lora_alpha=settings.lora.alpha, lora_dropout=settings.lora.dropout,
                                 target_modules=settings.lora.target_modules, task_type="CAUSAL_LM")
    reward = RewardFunction.for_documents(training_set.documents, reward_config, settings.max_completion_length,
                                          stop_token_ids(model, tokenizer))
    run_log = RunLog(output / "training")
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward],
                          args=trl_config(settings, output / "training"),
                          train_dataset=trl_dataset(training_set.examples, settings.template),
                          peft_config=peft_config, callbacks=[log_callback(run_log)])

    def heldout() -> Any:
        if not training_set.heldout:
            return None
        return evaluate_policy(trainer.model, tokenizer, training_set.heldout, training_set.documents, reward,
                               max_new_tokens=settings.max_completion_length, template=settings.template)

    before = heldout() if settings.heldout_before and not resume else None
    trainer.train(resume_from_checkpoint=True if resume else None)
    after = heldout()
    if trainer.accelerator.is_main_process:
        run_log.plot(f"GRPO reward terms ({output.name})")
        save_checkpoint(trainer.accelerator.unwrap_model(trainer.model), tokenizer, output)
        write_run_files(output, CardInfo(
            base_model=start, trainer="grpo", data=str(data),
            data_counts=training_set.manifest.get("counts", {"train": len(training_set.examples)}),
            reward_config=reward_config.to_dict(), training_config=asdict(settings), steps=trainer.state.global_step,
            seconds=time.perf_counter() - began, template=settings.template, before=before, after=after))
    return output


def build_parser() -> argparse.ArgumentParser:
    return trainer_parser("python -m train.grpo", __doc__, GRPOSettings)


def main(argv: Sequence[str] | None = None) -> int:
    return run_trainer(build_parser(), GRPOSettings, argv, lambda request: train(
        request.start, request.data, request.output, request.settings, request.reward_config,
        resume=request.resume))


if __name__ == "__main__":
    sys.exit(main())
