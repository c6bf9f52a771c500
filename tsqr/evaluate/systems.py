"""A system is one way to search: a reasoning source, how its reasoning meets the query (composition), a
retriever and, for a model, the number of samples; with a short label. The raw query is a system too.

Usage:
    systems = expand_systems(["default", "qr7b.json"], ["bm25", "dense"], settings, EvaluationConfig())
    systems[0].label, systems[0].key            # "raw@bm25", 16 hex digits naming what it computes
    systems = load_systems_file(Path("systems.toml"), settings, EvaluationConfig())

The key is a hash of the system's identity, everything that changes its per-query scores: who reasons (a
model's weights fingerprint and backend, its prompt template's exact words and the generation settings that
change the text; a reasoning file's content), the composition, the retriever with its scoring, and the depth
and measures. The runner stores each (system, domain) run under it, so a rerun with one more system computes only
that one, and a label change alone recomputes nothing. A model's identity is taken without loading it: a local
file or folder by tsqr.reasoner.identity's sampled fingerprint, a hub id or server URL by its name.

A systems file (TOML) names systems one by one, for anything finer than the command line's cross product:

    [[system]]
    label = "QR-7B+concat"        # optional: a label is made from the other fields
    reasoned = "qr7b.json"        # none (the raw query), human (the corpus's reasoning field), hub, a file, a model
    mode = "concat"               # replace | concat | fuse; also: repeat, retriever, scoring, samples,
                                  # sample_combination, reasoning_model (BRIGHT's <model>_reason with "hub"),
                                  # max_new_tokens, temperature, top_p, top_k, seed, repetition_penalty, template
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from tsqr.evaluate.plan import HUMAN_REASONING, ReasoningPlan
from tsqr.evaluate.scoring import EvaluationConfig
from tsqr.reasoner import GenerationSettings
from tsqr.reasoner.identity import file_fingerprint, path_identity
from tsqr.reasoner.loading import resolve_spec
from tsqr.reasoner.prompts import TEMPLATES, get_template, template_named_or_file

RAW = "raw"
# Fields of EvaluationConfig that only matter once a reasoning is composed with the query.
_COMPOSITION_FIELDS = ("composition", "repeat", "sample_combination")
_CONFIG_KEYS = {"mode": "composition", "repeat": "repeat", "retriever": "retriever", "scoring": "scoring",
                "sample_combination": "sample_combination"}
_SETTING_KEYS = ("max_new_tokens", "temperature", "top_p", "top_k", "seed", "repetition_penalty", "template")
_PLAN_KEYS = ("label", "reasoned", "reasoning_model", "samples")


@dataclass(frozen=True)
class System:
    """One way to search, named by `label`: where reasonings come from (`plan`) and how they are scored."""

    label: str
    plan: ReasoningPlan
    config: EvaluationConfig

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError("a system needs a non-empty label")
        if not self.plan.reasons:  # the raw query has no composition: one raw system per retriever
            defaults = EvaluationConfig()
            object.__setattr__(self, "config", replace(self.config, **{
                name: getattr(defaults, name) for name in _COMPOSITION_FIELDS}))

    @property
    def is_raw(self) -> bool:
        return not self.plan.reasons

    def identity(self) -> dict[str, Any]:
        """Everything that changes this system's per-query scores, as JSON-ready values."""
        config = asdict(self.config)
        if "bm25" not in self.config.retriever:
            config.pop("scoring")
        if not self.config.retriever.startswith("hybrid"):
            config.pop("hybrid_method"), config.pop("hybrid_weight")
        if self.is_raw or self.plan.samples == 1:
            config.pop("sample_combination")
        return {"reasoning": reasoning_identity(self.plan), "scoring": config}

    @cached_property
    def key(self) -> str:
        """16 hex digits of the identity's hash: the name of this system's stored runs."""
        return _digest(self.identity())

    @cached_property
    def reasoning_key(self) -> str:
        """The hash of where the reasonings come from: systems sharing it share one generation per domain."""
        return _digest(reasoning_identity(self.plan))


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _content_fingerprint(path: Path) -> str:
    if path.is_file():
        return file_fingerprint(path)
    digest = hashlib.sha256()
    for member in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{member.relative_to(path).as_posix()}:{file_fingerprint(member)}\n".encode())
    return digest.hexdigest()[:16]


def model_identity(spec: str) -> dict[str, str]:
    """Who a model spec names, without loading it: a local file or folder by its sampled fingerprint."""
    source = resolve_spec(spec)
    if source.kind in ("gguf", "folder"):
        identity = path_identity(Path(source.location), source.backend)
        return {"model": identity.label, "fingerprint": identity.fingerprint, "backend": source.backend}
    return {"model": source.location, "backend": source.backend}


def reasoning_identity(plan: ReasoningPlan) -> dict[str, Any]:
    """The reasoning half of a system's identity."""
    if plan.source is not None:
        if plan.source in ("hub", HUMAN_REASONING):  # the hub config by name; the field is part of the domain
            return {"source": str(plan.source), "model": plan.source_model}
        path = Path(plan.source)
        return {"source": "file", "content": _content_fingerprint(path), "model": plan.source_model}
    if plan.model is None:
        return {"source": "none"}
    template = get_template(plan.settings.template)
    return {"source": "model", **model_identity(plan.model), "template": template.name,
            "template_hash": template.fingerprint, "settings": plan.settings.output_fields(),
            "samples": plan.samples}


def reasoning_label(plan: ReasoningPlan) -> str:
    """A short name for a reasoning source: raw, human, a file's name, a model's last path component."""
    if not plan.reasons:
        return RAW
    if plan.source is not None:
        if plan.source == "hub":
            return f"bright-{plan.source_model}"
        return plan.shown_name or Path(str(plan.source)).name
    spec = str(plan.model)
    if "://" in spec:
        return "server" if "," in spec else spec.split("://", 1)[1].split("/", 1)[0]
    name = spec.rstrip("/").rsplit("/", 1)[-1]
    return name + (f"x{plan.samples}" if plan.samples > 1 else "")


def system_label(plan: ReasoningPlan, config: EvaluationConfig, *, several_modes: bool,
                 several_retrievers: bool) -> str:
    """`reasoning[+mode][@retriever]`, naming the mode and the retriever only when the run varies them."""
    label = reasoning_label(plan)
    if several_modes and plan.reasons:
        label += f"+{config.composition}"
    if several_retrievers:
        label += f"@{config.retriever}"
    return label


def check_labels(systems: Sequence[System]) -> list[System]:
    """The systems, refusing two with one label or two with one identity (the same work twice)."""
    seen: dict[str, str] = {}
    keys: dict[str, str] = {}
    for system in systems:
        if system.label in seen:
            raise ValueError(f"two systems are labelled {system.label!r}: give each its own label")
        if system.key in keys:
            raise ValueError(f"systems {keys[system.key]!r} and {system.label!r} are the same system")
        seen[system.label], keys[system.key] = system.key, system.label
    return list(systems)


def expand_systems(reasoned: Sequence[str | ReasoningPlan], retrievers: Sequence[str],
                   settings: GenerationSettings, config: EvaluationConfig, *, modes: Sequence[str] = (),
                   source_model: str | None = None, samples: int = 1) -> list[System]:
    """The command line's cross product: the raw query and every reasoning source (a spec as users type it, or
    a plan), under every mode and every retriever, raw first for each retriever. `modes` defaults to the
    config's composition."""
    retrievers = list(dict.fromkeys(retrievers or [config.retriever]))
    modes = list(dict.fromkeys(modes or [config.composition]))
    given = [spec if isinstance(spec, ReasoningPlan) else
             ReasoningPlan.from_spec(spec, settings, source_model=source_model, samples=samples)
             for spec in dict.fromkeys(reasoned) if isinstance(spec, ReasoningPlan) or spec.strip().lower() != "none"]
    plans = [ReasoningPlan(), *(plan for plan in given if plan.reasons)]
    systems = []
    for retriever in retrievers:
        for plan in plans:
            for mode in modes if plan.reasons else modes[:1]:
                system_config = replace(config, retriever=retriever, composition=mode)
                label = system_label(plan, system_config, several_modes=len(modes) > 1,
                                     several_retrievers=len(retrievers) > 1)
                systems.append(System(label, plan, system_config))
    return check_labels(systems)


def _system_from_table(table: Mapping[str, Any], number: int, folder: Path, settings: GenerationSettings,
                       config: EvaluationConfig) -> System:
    where = f"system {number}"
    unknown = set(table) - set(_PLAN_KEYS) - set(_CONFIG_KEYS) - set(_SETTING_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: "
                         f"{', '.join([*_PLAN_KEYS, *_CONFIG_KEYS, *_SETTING_KEYS])}")
    reasoned = str(table.get("reasoned", "none"))
    if reasoned not in ("none", "hub", HUMAN_REASONING) and (folder / reasoned).exists():
        reasoned = str(folder / reasoned)  # relative to the systems file
    changes = {key: table[key] for key in _SETTING_KEYS if key in table}
    if "template" in changes:  # a name, or a template file relative to the systems file
        template = str(changes["template"])
        changes["template"] = template_named_or_file(template if template in TEMPLATES or not (folder / template)
                                                     .exists() else str(folder / template))
    system_settings = settings.with_changes(**changes)
    system_config = replace(config, **{name: table[key] for key, name in _CONFIG_KEYS.items() if key in table})
    plan = ReasoningPlan() if reasoned.lower() == "none" else ReasoningPlan.from_spec(
        reasoned, system_settings, source_model=table.get("reasoning_model"), samples=int(table.get("samples", 1)))
    label = str(table.get("label") or system_label(plan, system_config, several_modes=True, several_retrievers=True))
    return System(label, plan, system_config)


def load_systems_file(path: Path, settings: GenerationSettings, config: EvaluationConfig) -> list[System]:
    """The systems a TOML file lists as [[system]] tables (see the module's docstring); ValueError names the
    file, the system and the problem."""
    import tomllib

    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: cannot read the systems file: {error}") from None
    tables = document.get("system")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{path}: expected one or more [[system]] tables")
    systems = []
    for number, table in enumerate(tables, 1):
        try:
            systems.append(_system_from_table(table, number, Path(path).parent, settings, config))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None
    try:
        return check_labels(systems)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None

