"""One real PPO step and one real GRPO step on a tiny random Llama the test builds, with the real reward.

Each must change the weights and leave a checkpoint that tsqr's reasoner loads and that writes, greedily, what
the trained policy in memory writes (LoRA merged in), with its card, reward config and per-step logs of every
reward term: finite, and equal to the mean of the breakdowns the reward gave that step. The reward charges a
truncation penalty, so completions cut at the token limit show in the logs (a random policy never stops).
"""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from train import grpo
from train.build_dataset import main as build_dataset
from train.grpo import GRPOSettings
from train.grpo import train as train_grpo
from train.heldout import reason_greedily
from train.policy import LoraSettings, render_prompts
from train.ppo import PPOSettings, PPOTrainer
from tsqr.reasoner import GenerationSettings, load_reasoner
from tsqr.reward import RewardBreakdown, RewardConfig

SMOKE = Path(__file__).resolve().parents[1] / "train" / "data" / "smoke.jsonl"
REWARD = RewardConfig(truncation_penalty=0.25)  # the real joint reward: BM25 + embedding terms + rules
TERMS = ("total", "sparse", "semantic", "truncation_penalty")
PROMPTS = ["Why does ice float?", "Why do onions make you cry?"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tiny_policy_folder: Path) -> Path:
    return tiny_policy_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "smoke"
    assert build_dataset(["--jsonl", str(SMOKE), "--heldout", "2", "--out", str(out)]) == 0
    return out


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def assert_changed_and_loadable(start: Path, output: Path, trained: Any, tokenizer: Any) -> None:
    """The checkpoint differs from the start and, loaded by the reasoner, writes what `trained` (the policy
    still in memory) writes: greedy, same prompts, same repetition penalty, one thread for both."""
    before, after = weights(start), weights(output)
    assert before.keys() == after.keys()
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed, "no weight changed after a training step"
    settings = GenerationSettings(max_new_tokens=6, batch_size=2, threads=1)
    reasoner = load_reasoner(f"transformers:{output}", settings, cache=False)  # also sets torch's threads to 1
    loaded = reasoner.reason(PROMPTS, progress=False)
    in_memory, _ = reason_greedily(trained, tokenizer, PROMPTS, max_new_tokens=6, batch_size=2)
    assert [r.text for r in loaded] == in_memory
    assert all(r.new_tokens >= 1 for r in loaded)
    # Six greedy tokens of a random model may survive a small weight change, logits do not: the reloaded
    # model computes what the trained one computes, which (weights changed) is not what the start computed.
    prompt = tokenizer(render_prompts(tokenizer, PROMPTS[:1]), return_tensors="pt")
    with torch.no_grad():
        expected = trained.eval()(**prompt).logits
        torch.testing.assert_close(reasoner.model(**prompt).logits, expected, rtol=1e-5, atol=1e-5)
        start_logits = AutoModelForCausalLM.from_pretrained(start)(**prompt).logits
    assert not torch.allclose(start_logits, expected, rtol=1e-5, atol=1e-5)
    assert RewardConfig.load(output / "reward_config.json") == REWARD
    card = (output / "README.md").read_text()
    assert f"**Base model:** `{start}`" in card and "| held-out queries | measure |" in card
    assert "base_model:" not in card  # hub metadata names hub models only, never a local folder


def test_card_metadata_names_the_hub_model_a_run_started_from(tmp_path):
    from train.model_card import hub_base_model

    assert hub_base_model("default") == "HuggingFaceTB/SmolLM2-135M-Instruct"  # the model inside the GGUF
    assert hub_base_model("Qwen/Qwen2.5-1.5B-Instruct") == "Qwen/Qwen2.5-1.5B-Instruct"
    assert hub_base_model(str(tmp_path)) is None


def logged(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "training" / "log.jsonl").read_text().splitlines()]


def assert_logs_are_the_breakdowns(record: dict, prefix: str, breakdowns: list[RewardBreakdown],
                                   truncated: list[bool]) -> None:
    """Every logged number is finite and each reward term is the mean over the step's completions; each
    completion cut at the limit paid the truncation penalty unless a rule failed it outright."""
    assert all(math.isfinite(v) for v in record.values() if isinstance(v, (int, float))), record
    for term in TERMS:
        mean = sum(getattr(b, term) for b in breakdowns) / len(breakdowns)
        assert record[f"{prefix}/{term}"] == pytest.approx(mean, abs=1e-6), term
    assert record[f"{prefix}/failure_rate"] == pytest.approx(sum(bool(b.failure) for b in breakdowns) / len(breakdowns))
    assert [b.truncation_penalty for b in breakdowns] == \
        [0.25 if cut and not b.failure else 0.0 for b, cut in zip(breakdowns, truncated)]
    assert any(cut and not b.failure for b, cut in zip(breakdowns, truncated)), "no completion reached the penalty"


def record_scoring(trainer: PPOTrainer) -> list[tuple[list[bool], list[RewardBreakdown]]]:
    """(truncated flags, breakdowns) of every batch PPO's reward scores; the real reward, called through."""
    calls = []
    score_examples = trainer.reward.score_examples

    def recording(examples, texts, truncated=None):
        breakdowns = score_examples(examples, texts, truncated)
        calls.append((list(truncated), breakdowns))
        return breakdowns

    trainer.reward.score_examples = recording
    return calls


def test_one_ppo_step(tiny: Path, data: Path, tmp_path: Path) -> None:
    settings = PPOSettings(steps=1, prompts_per_step=2, samples_per_prompt=2, max_new_tokens=8, minibatch_size=2,
                           ppo_epochs=1, learning_rate=1e-3, save_every=1)
    trainer = PPOTrainer(str(tiny), data, tmp_path / "ppo", settings, REWARD)
    scored = record_scoring(trainer)
    output = trainer.train()
    assert_changed_and_loadable(tiny, output, trainer.accelerator.unwrap_model(trainer.model).policy,
                                trainer.tokenizer)
    [record] = logged(output)
    assert record["step"] == 1 and record["kl"] == pytest.approx(0.0, abs=1e-5)  # policy = reference at step 1
    for term in ("policy_loss", "value_loss", "clip_fraction"):
        assert isinstance(record[term], float), term
    truncated, breakdowns = scored[0]  # the step's rollouts (held-out scoring follows)
    assert len(breakdowns) == 4
    assert_logs_are_the_breakdowns(record, "reward", breakdowns, truncated)
    assert (output / "training" / "reward_terms.html").is_file()
    assert "ppo" in json.loads((output / "training_config.json").read_text())["trainer"]


def test_ppo_with_lora_resumes_and_saves_merged_weights(tiny: Path, data: Path, tmp_path: Path) -> None:
    settings = PPOSettings(steps=2, prompts_per_step=1, max_new_tokens=4, minibatch_size=1, ppo_epochs=1,
                           learning_rate=1e-2, save_every=1, lora=LoraSettings(r=4))
    first = PPOTrainer(str(tiny), data, tmp_path / "lora", settings, REWARD)
    assert first.reference is None  # under LoRA the reference is the base model, adapters off
    first.train()
    resumed = PPOTrainer(str(tiny), data, tmp_path / "lora", replace(settings, steps=3), REWARD, resume=True)
    assert resumed.first_step == 2  # state was saved after step 1 (save_every=1; the last step writes the model)
    assert resumed.batch_examples(2) == first.batch_examples(2)  # a resumed run sees the same queries per step
    scored = record_scoring(resumed)
    output = resumed.train()
    assert_changed_and_loadable(tiny, output, resumed.accelerator.unwrap_model(resumed.model).policy,
                                resumed.tokenizer)
    assert not list(output.glob("adapter_*")), "LoRA must be merged into a plain checkpoint"
    records = logged(output)
    assert [r["step"] for r in records] == [1, 2, 2, 3]
    for record, (truncated, breakdowns) in zip(records[2:], scored):  # the resumed run's steps 2 and 3
        assert_logs_are_the_breakdowns(record, "reward", breakdowns, truncated)


def test_one_grpo_step(tiny: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TRL owns the loop, so the policy it trained and the reward it called are caught on their way through
    train.grpo (the real functions run)."""
    caught: dict[str, Any] = {}
    save_checkpoint, for_documents = grpo.save_checkpoint, grpo.RewardFunction.for_documents

    def saving(model, tokenizer, folder):
        caught["policy"], caught["tokenizer"] = model, tokenizer
        return save_checkpoint(model, tokenizer, folder)

    def reward_for(*args, **kwargs):
        caught["reward"] = for_documents(*args, **kwargs)
        return caught["reward"]

    monkeypatch.setattr(grpo, "save_checkpoint", saving)
    monkeypatch.setattr(grpo.RewardFunction, "for_documents", reward_for)
    settings = GRPOSettings(steps=1, num_generations=2, per_device_batch_size=2, gradient_accumulation_steps=1,
                            max_completion_length=8, learning_rate=1e-3, warmup_ratio=0.0, max_grad_norm=1.0)
    output = train_grpo(str(tiny), data, tmp_path / "grpo", settings, REWARD)
    assert_changed_and_loadable(tiny, output, caught["policy"], caught["tokenizer"])
    [record] = logged(output)
    assert record["step"] == 1
    breakdowns = caught["reward"].last  # the step's one call (held-out scoring does not replace it)
    assert len(breakdowns) == 2
    # A random policy never writes its stop token in 8 tokens: every completion is cut at the limit.
    assert_logs_are_the_breakdowns(record, "reward_terms", breakdowns, [True, True])
    assert record["reward"] == pytest.approx(record["reward_terms/total"], abs=1e-4)


def test_settings_refuse_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="multiple of num_generations"):
        GRPOSettings(num_generations=3, per_device_batch_size=2, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="at least 2"):
        GRPOSettings(num_generations=1, per_device_batch_size=1, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="kl_estimator"):
        PPOSettings(kl_estimator="k9")
