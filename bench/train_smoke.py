"""A short real RL run on CPU: SmolLM2-135M-Instruct (the embedded default) on train/data/smoke.jsonl.

Usage:
    python bench/train_smoke.py                          # GRPO, 8 steps, 2 queries x 4 generations x 48 tokens
    python bench/train_smoke.py --trainer ppo --steps 8
    python bench/train_smoke.py --output checkpoints/smoke-grpo   # keep the checkpoint (a temp folder otherwise)

Prints, not asserts: seconds to load, seconds per training step, peak resident memory, and on the 6 held-out
queries the mean reward (and its terms) and BM25 nDCG@10 of the greedy reasonings before and after training.
A few minutes of CPU RL is a pipeline check, not a result: with so few steps any before/after difference is
mostly the sampling noise of 6 queries, which is why the raw-query score is printed beside it.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from train.build_dataset import main as build_dataset  # noqa: E402
from train.grpo import GRPOSettings  # noqa: E402
from train.grpo import train as train_grpo  # noqa: E402
from train.ppo import PPOSettings, PPOTrainer  # noqa: E402
from tsqr.reward import RewardConfig  # noqa: E402


def peak_memory_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace, work: Path) -> Path:
    data = work / "data"
    if build_dataset(["--jsonl", str(ROOT / "train" / "data" / "smoke.jsonl"), "--heldout", "6",
                      "--mine-negatives", "2", "--out", str(data)]) != 0:
        raise SystemExit("could not build the smoke training set")
    output = Path(args.output) if args.output else work / "checkpoint"
    reward = RewardConfig()
    if args.trainer == "grpo":
        settings = GRPOSettings(steps=args.steps, num_generations=args.generations,
                                per_device_batch_size=args.prompts * args.generations, gradient_accumulation_steps=1,
                                max_completion_length=args.tokens, learning_rate=args.learning_rate,
                                warmup_ratio=0.0, save_every=10_000, heldout_before=True)
        return train_grpo("default", data, output, settings, reward)
    settings = PPOSettings(steps=args.steps, prompts_per_step=args.prompts, samples_per_prompt=args.generations,
                           max_new_tokens=args.tokens, learning_rate=args.learning_rate,
                           minibatch_size=args.prompts * args.generations, ppo_epochs=1, save_every=10_000,
                           heldout_before=True)
    return PPOTrainer("default", data, output, settings, reward).train()


def report(output: Path, seconds: float) -> None:
    run_info = json.loads((output / "training_config.json").read_text())
    records = [json.loads(line) for line in (output / "training" / "log.jsonl").read_text().splitlines()]
    step_times = [r.get("step_time", r.get("step_seconds")) for r in records]
    step_times = [t for t in step_times if isinstance(t, (int, float))]
    print(f"\ntrainer {run_info['trainer']}, {run_info['steps']} steps, total {seconds:.0f} s")
    if step_times:
        print(f"seconds per step: mean {sum(step_times) / len(step_times):.1f} "
              f"(first {step_times[0]:.1f}, last {step_times[-1]:.1f})")
    print(f"peak memory (RSS): {peak_memory_mib():.0f} MiB")
    key = "reward_terms/total" if run_info["trainer"] == "grpo" else "reward/total"
    print("training reward per step: " + " ".join(f"{r[key]:+.2f}" for r in records if key in r))
    before, after = run_info["heldout_before"], run_info["heldout_after"]
    print(f"held-out queries: {after['queries']}")
    for term in ("total", "sparse", "semantic", "failure_rate", "words"):
        print(f"  reward {term:<13} before {before['reward'][term]:+8.3f}   after {after['reward'][term]:+8.3f}")
    for measure, scores in after["retrieval"].items():
        print(f"  {measure:<8} raw query {100 * scores['raw']:5.1f}   reasoned before "
              f"{100 * before['retrieval'][measure]['reasoned']:5.1f}   after {100 * scores['reasoned']:5.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainer", choices=("grpo", "ppo"), default="grpo")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=2, help="queries per step")
    parser.add_argument("--generations", type=int, default=4, help="completions per query")
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens per completion")
    parser.add_argument("--learning-rate", type=float, default=5e-6)
    parser.add_argument("--output", help="keep the checkpoint here")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tsqr-train-smoke-") as work:
        output = run(args, Path(work))
        report(output, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
