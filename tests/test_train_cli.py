"""The trainers' shared command line: every settings field is a flag, the reward config file is read, bad input
is a usage error (exit 2), never a traceback."""
from __future__ import annotations

import json

import pytest

from train import grpo, ppo
from train.cli import parse_trainer_args


def test_flags_fill_the_settings_lora_and_reward_config(tmp_path):
    reward_file = tmp_path / "reward.json"
    reward_file.write_text(json.dumps({"sparse_weight": 0.0}))
    request = parse_trainer_args(grpo.build_parser(), grpo.GRPOSettings, [
        "--data", "d", "--output", "o", "--beta", "0.01", "--num-generations", "4", "--lora-r", "8",
        "--reward-config", str(reward_file), "--resume"])
    assert (request.start, request.data, request.output, request.resume) == ("default", "d", "o", True)
    assert (request.settings.beta, request.settings.num_generations, request.settings.steps) == (0.01, 4, 150)
    assert (request.settings.lora.r, request.settings.lora.alpha) == (8, 32)
    assert request.reward_config.sparse_weight == 0.0


def test_boolean_settings_have_on_and_off_flags():
    settings = ppo.PPOSettings()
    name = next(field for field, value in vars(settings).items() if isinstance(value, bool))
    flag = "--no-" + name.replace("_", "-") if getattr(settings, name) else "--" + name.replace("_", "-")
    request = parse_trainer_args(ppo.build_parser(), ppo.PPOSettings, ["--data", "d", "--output", "o", flag])
    assert getattr(request.settings, name) is not getattr(settings, name)


@pytest.mark.parametrize("trainer", [grpo, ppo])
def test_bad_reward_config_is_a_usage_error(trainer, tmp_path, capsys):
    broken = tmp_path / "reward.json"
    broken.write_text("{not json")
    assert trainer.main(["--data", str(tmp_path), "--output", str(tmp_path / "o"), "--reward-config", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("trainer", [grpo, ppo])
def test_a_wrongly_typed_flag_exits_2(trainer, capsys):
    with pytest.raises(SystemExit) as stopped:
        trainer.main(["--data", "d", "--output", "o", "--steps", "many"])
    assert stopped.value.code == 2 and "invalid int value" in capsys.readouterr().err
