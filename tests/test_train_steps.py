"""One real PPO step and one real GRPO step on a tiny random Llama the test builds, with the real reward.

Each must change the weights and leave a checkpoint that tsqr's reasoner loads and runs, with its card, reward
config and per-step logs of every reward term.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from train.build_dataset import main as build_dataset
from train.grpo import GRPOSettings
from train.grpo import train as train_grpo
from train.policy import LoraSettings, write_tiny_policy
from train.ppo import PPOSettings, PPOTrainer
from tsqr.reasoner import GenerationSettings, load_reasoner
from tsqr.reward import RewardConfig

SMOKE = Path(__file__).resolve().parents[1] / "train" / "data" / "smoke.jsonl"
REWARD = RewardConfig()  # the real joint reward: BM25 term + embedding term + rules

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_policy(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "smoke"
    assert build_dataset(["--jsonl", str(SMOKE), "--heldout", "2", "--out", str(out)]) == 0
    return out


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def assert_changed_and_loadable(start: Path, output: Path) -> None:
    before, after = weights(start), weights(output)
    assert before.keys() == after.keys()
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed, "no weight changed after a training step"
    reasoner = load_reasoner(str(output), GenerationSettings(max_new_tokens=4), cache=False)
    [result] = reasoner.reason(["Why does ice float?"], progress=False)
    assert result.query == "Why does ice float?" and result.new_tokens >= 1
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


def test_one_ppo_step(tiny: Path, data: Path, tmp_path: Path) -> None:
    settings = PPOSettings(steps=1, prompts_per_step=2, samples_per_prompt=2, max_new_tokens=8, minibatch_size=2,
                           ppo_epochs=1, learning_rate=1e-3, save_every=1)
    output = PPOTrainer(str(tiny), data, tmp_path / "ppo", settings, REWARD).train()
    assert_changed_and_loadable(tiny, output)
    [record] = logged(output)
    assert record["step"] == 1 and record["kl"] == pytest.approx(0.0, abs=1e-5)  # policy = reference at step 1
    for term in ("reward/total", "reward/sparse", "reward/semantic", "reward/failure_rate", "policy_loss",
                 "value_loss", "clip_fraction"):
        assert isinstance(record[term], float), term
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
    output = resumed.train()
    assert_changed_and_loadable(tiny, output)
    assert not list(output.glob("adapter_*")), "LoRA must be merged into a plain checkpoint"
    assert [r["step"] for r in logged(output)] == [1, 2, 2, 3]


def test_one_grpo_step(tiny: Path, data: Path, tmp_path: Path) -> None:
    settings = GRPOSettings(steps=1, num_generations=2, per_device_batch_size=2, gradient_accumulation_steps=1,
                            max_completion_length=8, learning_rate=1e-3, warmup_ratio=0.0, max_grad_norm=1.0)
    output = train_grpo(str(tiny), data, tmp_path / "grpo", settings, REWARD)
    assert_changed_and_loadable(tiny, output)
    [record] = logged(output)
    assert record["step"] == 1
    for term in ("reward_terms/total", "reward_terms/sparse", "reward_terms/semantic", "reward_terms/failure_rate"):
        assert isinstance(record[term], float), term
    assert record["reward"] == pytest.approx(record["reward_terms/total"], abs=1e-4)


def test_settings_refuse_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="multiple of num_generations"):
        GRPOSettings(num_generations=3, per_device_batch_size=2, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="at least 2"):
        GRPOSettings(num_generations=1, per_device_batch_size=1, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="kl_estimator"):
        PPOSettings(kl_estimator="k9")
