"""The README.md model card written into every checkpoint, and the JSON files that make a run reproducible.

A checkpoint folder carries what it took to make it: the base model, the data (with the dataset manifest's
counts), the full reward config (`reward_config.json`, loadable with RewardConfig.load), the trainer settings
(`training_config.json`), the steps run, and an evaluation table. The table holds the held-out scores when the
trainer measured them and otherwise says how to fill it with `python -m tsqr evaluate`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.heldout import HeldoutResult


@dataclass
class CardInfo:
    """What the card reports about one training run."""

    base_model: str
    trainer: str
    data: str
    data_counts: dict[str, Any]
    reward_config: dict[str, Any]
    training_config: dict[str, Any]
    steps: int
    seconds: float
    template: str = "tongsearch"
    before: HeldoutResult | None = None
    after: HeldoutResult | None = None
    notes: list[str] = field(default_factory=list)


def _evaluation_table(info: CardInfo) -> str:
    if info.after is None:
        return ("| data | measure | raw query | reasoned (this model) |\n|---|---|---|---|\n"
                "| *not evaluated yet* | nDCG@10 | | |\n\n"
                "Fill it with: `python -m tsqr evaluate --data <BRIGHT data> --domain all --reasoned <this folder>`.")
    lines = ["| held-out queries | measure | raw query | " + ("before training | " if info.before else "")
             + "after training |", "|---|---|---|" + ("---|" if info.before else "") + "---|"]
    for measure, scores in info.after.retrieval.items():
        before = f"{100 * info.before.retrieval[measure]['reasoned']:.1f} | " if info.before else ""
        lines.append(f"| {info.after.queries} | {measure} | {100 * scores['raw']:.1f} | {before}"
                     f"{100 * scores['reasoned']:.1f} |")
    reward_before = f"{info.before.reward['total']:+.3f} -> " if info.before else ""
    lines.append(f"\nMean reward on the held-out queries: {reward_before}{info.after.reward['total']:+.3f} "
                 f"(failure rate {info.after.reward['failure_rate']:.0%}). BM25 over the training corpus, "
                 "scores x100. For BRIGHT: `python -m tsqr evaluate --data <BRIGHT data> --domain all "
                 "--reasoned <this folder>`.")
    return "\n".join(lines)


def hub_base_model(base: str) -> str | None:
    """The hub id for the card's `base_model` metadata (the hub links fine-tunes by it), or None for local files.

    "default" is the GGUF of HuggingFaceTB/SmolLM2-135M-Instruct that tsqr ships, so the card names that model.
    """
    from tsqr.reasoner.loading import DEFAULT_HUB_ID, resolve_spec

    if base.strip().lower() == "default":
        return DEFAULT_HUB_ID
    try:
        source = resolve_spec(base)
    except (ValueError, OSError):
        return None
    return source.location if source.kind == "hub" else None


def render_card(info: CardInfo) -> str:
    """The card's Markdown text."""
    reward = info.reward_config
    hub_id = hub_base_model(info.base_model)
    metadata = f"base_model: {hub_id}\n" if hub_id else ""
    return f"""---
library_name: transformers
{metadata}tags: [tsqr, query-reasoning, retrieval, bm25, reinforcement-learning, {info.trainer}]
---
# Query reasoner trained with tsqr ({info.trainer.upper()})

A small language model trained by reinforcement learning to reason about a search query before BM25 retrieves
with its reasoning, after TongSearch QR (Qin et al. 2025, arXiv 2506.11603).

- **Base model:** `{info.base_model}`{f' ({hub_id})' if hub_id and hub_id != info.base_model else ''}
- **Trainer:** {info.trainer} for {info.steps} steps ({info.seconds / 60:.1f} min)
- **Prompt template:** `{info.template}` (tsqr.reasoner.prompts)
- **Training data:** `{info.data}` ({', '.join(f'{k}: {v}' for k, v in info.data_counts.items())})
- **Reward:** {reward.get('sparse_weight')} x BM25 gain ({reward.get('sparse_mode')}, pool {reward.get('sparse_pool')})
  + {reward.get('semantic_weight')} x embedding gain ({reward.get('embedding_model')}, x{reward.get('semantic_scale')}),
  failure penalty {reward.get('failure_penalty')}; every setting in `reward_config.json`.

## Use

```
python -m tsqr reason "your question" --model <this folder>
python -m tsqr evaluate --data <BRIGHT data> --domain biology --reasoned <this folder>
```

## Evaluation

{_evaluation_table(info)}
{"".join(f"{chr(10)}- {note}" for note in info.notes)}
## Training settings

```json
{json.dumps(info.training_config, indent=2, default=str)}
```
"""


def write_run_files(folder: str | Path, info: CardInfo) -> Path:
    """README.md, reward_config.json and training_config.json into a checkpoint folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reward_config.json").write_text(json.dumps(info.reward_config, indent=2) + "\n", encoding="utf-8")
    run = {"trainer": info.trainer, "base_model": info.base_model, "data": info.data, "steps": info.steps,
           "seconds": round(info.seconds, 1), "settings": info.training_config,
           "heldout_before": info.before.as_dict() if info.before else None,
           "heldout_after": info.after.as_dict() if info.after else None}
    (folder / "training_config.json").write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(render_card(info), encoding="utf-8")
    return folder
