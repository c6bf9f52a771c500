"""The command line both trainers share: where to start, what data, where to write, the reward config, resume,
LoRA, and one flag per field of the trainer's settings dataclass (so a new setting is a new flag for free)."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from train.policy import LoraSettings
from tsqr.cli_checks import OneLineParser, run_command
from tsqr.reward import RewardConfig


# What a trainer says on Ctrl-C: what is kept depends on --save-every, and --resume picks it up.
INTERRUPTED = "interrupted: checkpoints saved so far are in --output; rerun with --resume to continue"


@dataclass
class TrainerRequest:
    """A parsed trainer command line: what `train(...)` / `Trainer(...)` takes."""

    start: str
    data: str
    output: str
    settings: Any
    reward_config: RewardConfig
    resume: bool


def trainer_parser(prog: str, doc: str, settings_type: type) -> argparse.ArgumentParser:
    """The argument parser for a trainer whose knobs are the fields of `settings_type` (a dataclass)."""
    parser = OneLineParser(prog=prog, description=doc.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    parser.add_argument("--start", default="default", help="default, a .gguf, a checkpoint folder or a hub id")
    parser.add_argument("--data", required=True, help="folder written by python -m train.build_dataset")
    parser.add_argument("--output", required=True, help="checkpoint folder to write")
    parser.add_argument("--reward-config", help="JSON of tsqr.reward.RewardConfig fields (defaults otherwise)")
    parser.add_argument("--resume", action="store_true", help="continue from the state saved in --output")
    for name, value in asdict(settings_type()).items():
        if name == "lora":
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    parser.add_argument("--lora-r", type=int, default=0, help="LoRA rank (0: full fine-tuning)")
    parser.add_argument("--lora-alpha", type=int, default=32)
    return parser


def parse_trainer_args(parser: argparse.ArgumentParser, settings_type: type,
                       argv: Sequence[str] | None = None) -> TrainerRequest:
    """Parse argv into a TrainerRequest; ValueError for settings the dataclass or the reward config refuse."""
    args = vars(parser.parse_args(argv))
    reward_file = args.pop("reward_config")
    reward_config = RewardConfig.load(reward_file) if reward_file else RewardConfig()
    lora = LoraSettings(r=args.pop("lora_r"), alpha=args.pop("lora_alpha"))
    start, data, output, resume = (args.pop(key) for key in ("start", "data", "output", "resume"))
    return TrainerRequest(start, data, output, settings_type(lora=lora, **args), reward_config, resume)


def run_trainer(parser: argparse.ArgumentParser, settings_type: type, argv: Sequence[str] | None,
                train: Callable[[TrainerRequest], Path]) -> int:
    """A trainer's `main`: parse, train, print where the checkpoint went; bad input (a refused setting, an
    unreadable file, a ValueError while training) is one line and exit code 2 (tsqr.cli_checks.run_command)."""
    def work() -> int:
        print(f"wrote {train(parse_trainer_args(parser, settings_type, argv))}")
        return 0

    return run_command(work, interrupted=INTERRUPTED)
