"""Per-step training logs: one JSON line per logged step, the same as CSV, and a plot of every reward term.

Both trainers write here (PPO directly, GRPO through a TrainerCallback), so a run folder always holds
`log.jsonl` (appended as training goes: a crash loses nothing already logged), `log.csv` (rewritten on each
append, columns the union of all keys) and, at the end, `reward_terms.html` (plotly, always available) plus
`reward_terms.png` when a static exporter (kaleido) is installed.
"""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    """JSON-safe scalars (tensors and numpy numbers become floats; NaN becomes None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLog:
    """Appends step records to `folder/log.jsonl` and `folder/log.csv`."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.folder / "log.jsonl"
        self.csv = self.folder / "log.csv"

    def records(self) -> list[dict[str, Any]]:
        if not self.jsonl.is_file():
            return []
        return [json.loads(line) for line in self.jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]

    def append(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
        record = {"step": int(step), **{key: _plain(value) for key, value in metrics.items()}}
        with self.jsonl.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self._write_csv(self.records())
        return record

    def _write_csv(self, records: list[dict[str, Any]]) -> None:
        columns = list(dict.fromkeys(key for record in records for key in record))
        with self.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)

    def plot(self, title: str = "reward terms per step") -> list[Path]:
        """Plot every reward-term column (and the loss and KL when logged) against the step."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        records = self.records()
        if not records:
            return []
        reward_keys = [k for k in records[-1] if "reward" in k and isinstance(records[-1][k], (int, float))]
        other_keys = [k for k in records[-1] if k in ("loss", "kl", "policy_loss", "value_loss", "clip_fraction")]
        figure = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=("reward terms", "optimisation"))
        for row, keys in ((1, reward_keys), (2, other_keys)):
            for key in keys:
                points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
                figure.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers",
                                            name=key), row=row, col=1)
        figure.update_layout(title=title, xaxis2_title="step", height=800)
        written = [self.folder / "reward_terms.html"]
        figure.write_html(written[0], include_plotlyjs=True)  # self-contained: opens offline
        try:
            figure.write_image(self.folder / "reward_terms.png")
            written.append(self.folder / "reward_terms.png")
        except (ValueError, ImportError, RuntimeError):  # no static exporter (kaleido) installed: HTML only
            pass
        return written
