"""Where a run's reasoned queries come from, as users name it: precomputed reasonings, the corpus's own reasoning
field, a model to run, or none. Its own module because systems (tsqr.evaluate.systems) are made of plans and the
pipeline runs them: both import it, neither imports the other for it.

Usage:
    plan = ReasoningPlan.from_spec("default", GenerationSettings(max_new_tokens=256))   # a model
    ReasoningPlan.from_spec("qr7b.json").source, ReasoningPlan.from_spec("human").source
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tsqr.reasoner import GenerationSettings
from tsqr.reasoner.loading import is_model_path

# Queries asked of a model between two progress events: small enough to stop promptly, large enough that a
# server backend keeps its window of requests full (it refills within a chunk, not across chunks).
DEFAULT_CHUNK = 64
# The reasoning source that is the corpus's own human-written `reasoning` field (BRIGHT's examples carry one).
HUMAN_REASONING = "human"


@dataclass(frozen=True)
class ReasoningPlan:
    """Where the reasoned queries come from: precomputed reasonings (`source`), a model to run (`model`), or
    neither (raw only). `shown_name` is how messages name the source (an upload's own file name)."""

    source: str | Path | None = None
    source_model: str | None = None
    shown_name: str = ""
    model: str | None = None
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    chunk: int = DEFAULT_CHUNK
    samples: int = 1

    @classmethod
    def from_spec(cls, spec: str | None, settings: GenerationSettings | None = None,
                  source_model: str | None = None, samples: int = 1) -> "ReasoningPlan":
        """A spec as users type it: "hub", "human" (the corpus's reasoning field) or a reasoning file/folder is a
        source; anything else is a model (`samples` > 1: that many sampled reasonings per query)."""
        if not spec:
            return cls()
        path = Path(spec).expanduser()
        if spec in ("hub", HUMAN_REASONING) or (path.exists() and not is_model_path(path)):
            if samples > 1:
                raise ValueError(f"--samples {samples} needs a model to sample from, not precomputed reasonings")
            return cls(source=spec, source_model=source_model)
        return cls(model=spec, settings=settings or GenerationSettings(), samples=samples)

    @property
    def reasons(self) -> bool:
        return self.source is not None or self.model is not None
