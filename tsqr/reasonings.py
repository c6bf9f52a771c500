"""Reasoned queries computed elsewhere: TongSearch QR's released files, BRIGHT's LLM-reasoning configs, and
tsqr's own reasoning cache, behind one record that answers "what is the reasoning for this example?".

Usage:
    from tsqr.reasonings import load_reasonings, write_tongsearch_json
    source = load_reasonings("TongSearch-QR-7B_reasoned_BRIGHT_queries.json")
    source = load_reasonings("BRIGHT/", domain="biology", model="gpt4")      # <model>_reason, matched by id
    texts = source.texts_for(domain.examples)                                # {query id: reasoning}
    print(source.coverage(domain.examples))                                  # "1384/1384 examples (100.0%)"
    write_tongsearch_json({query: text}, "ours.json")                        # our reasonings, TongSearch's format
    export_cache(ReasoningCache.find("my-model"), "mine.json")               # a cache, as TongSearch's JSON

This module is the one owner of reasoning files: every reader and writer of TongSearch's JSON is here, and the
cache's own JSONL is read through the cache's reader (tsqr.reasoner.cache), never parsed a second way.

TongSearch keys its files by the original query text (not by id: 76 theoremqa_theorems queries repeat
theoremqa_questions text, hence 1308 keys for 1384 queries). Exact text matches all 1384 examples loaded
from BRIGHT's examples; Anserini's .tsv topics flatten newlines, so a lookup that fails exactly is retried with
whitespace runs collapsed (1384/1384 again), and only where that collapsed key is unambiguous.

Every format is read under the same caps (tsqr.limits), since a reasoning file is an upload like any other: JSON
and table files through tsqr.bright's capped readers, cache-format files through the cache's own line-capped
reader; reasonings longer than TSQR_MAX_REASONING_CHARS are refused, ids follow tsqr.bright.ids, and query keys
are cut like example queries (TSQR_MAX_EXAMPLE_QUERY_CHARS) so a key still matches the example it was made for.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tsqr.bright import (
    DataError,
    Table,
    canonical_domain,
    detect_format,
    hub_split_files,
    read_hub_split,
    read_json_value,
    read_table,
)
from tsqr.bright.bounded import cannot_read, read_start
from tsqr.bright.files import max_rows, too_many_rows
from tsqr.bright.ids import check_id, shown
from tsqr.limits import Limits, cut_query
from tsqr.reasoner.cache import CacheRow, ReasoningCache, reasoning_key
from tsqr.reasoner.prompts import PromptTemplate
from tsqr.reasoner.settings import GenerationSettings
from tsqr.records import Example, Reasoning

BRIGHT_REASONING_MODELS = ("gpt4", "llama3-70b", "claude-3-opus", "Gemini-1.0", "grit")


def _collapse(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Coverage:
    """How many examples a source has a reasoning for, and which query ids it lacks."""

    total: int
    found: int
    missing: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.found / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.found}/{self.total} examples ({100 * self.fraction:.1f}%)"


@dataclass(frozen=True)
class ReasoningSource:
    """Reasonings keyed by example id (BRIGHT's <model>_reason rows) or by query text (TongSearch, tsqr's cache)."""

    name: str
    by_id: Mapping[str, str] = field(default_factory=dict)
    by_query: Mapping[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_id) + len(self.by_query)

    @cached_property
    def _by_collapsed_query(self) -> dict[str, str | None]:
        """Whitespace-collapsed query -> reasoning; None where two different reasonings collapse together."""
        collapsed: dict[str, str | None] = {}
        for query, text in self.by_query.items():
            key = _collapse(query)
            collapsed[key] = text if collapsed.get(key, text) == text else None
        return collapsed

    def text_for(self, example: Example) -> str | None:
        """The reasoning for `example`, or None when this source has none."""
        if example.id in self.by_id:
            return self.by_id[example.id]
        text = self.by_query.get(example.query)
        if text is None and self.by_query:
            text = self._by_collapsed_query.get(_collapse(example.query))
        return text

    def texts_for(self, examples: Iterable[Example]) -> dict[str, str]:
        """{query id: reasoning} for the examples this source covers (what `tsqr.evaluate` takes)."""
        return {ex.id: text for ex in examples if (text := self.text_for(ex)) is not None}

    def coverage(self, examples: Sequence[Example]) -> Coverage:
        missing = [ex.id for ex in examples if self.text_for(ex) is None]
        return Coverage(total=len(examples), found=len(examples) - len(missing), missing=missing)

    def check_usable(self, examples: Sequence[Example], label: str) -> Coverage:
        """The coverage of `examples`, refusing a source that would silently compare raw with raw: one that
        matches nothing, or whose every matched "reasoning" is the query itself (the examples file uploaded as a
        reasoning file reads like BRIGHT's <model>_reason rows, id and query)."""
        coverage = self.coverage(examples)
        if coverage.found == 0:
            raise DataError(f"{label}: no reasoning matches any query of these {len(examples)} examples (reasonings "
                            "are matched by query text, or by id for BRIGHT <model>_reason and rewrite files)")
        texts = self.texts_for(examples)
        if all(texts[ex.id].strip() == ex.query.strip() for ex in examples if ex.id in texts):
            raise DataError(f"{label}: every reasoning equals its query: this looks like the examples file itself, "
                            "not reasonings (give TongSearch JSON, BRIGHT <model>_reason rows or rewritten queries)")
        return coverage


def _query_key(query: str, limits: Limits) -> str:
    """A query key as examples hold their queries: cut at TSQR_MAX_EXAMPLE_QUERY_CHARS."""
    return cut_query(query, limits.query_chars, limits.variable("query_chars"))[0]


def _check_reasoning(text: str, label: str, where: str, limits: Limits) -> str:
    if len(text) > limits.reasoning_chars:
        raise DataError(f"{label}: {where}: reasoning of {len(text):,} characters, more than "
                        f"{limits.describe('reasoning_chars')}")
    return text


def _mapping_of_text(value: object, label: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise DataError(f"{label}: expected a JSON object mapping query text to reasoning, got {type(value).__name__}")
    limits = Limits.from_env()
    if len(value) > max_rows(limits):
        raise too_many_rows(label, limits)
    mapping = {}
    for query, text in value.items():
        if not isinstance(text, str):
            raise DataError(f"{label}: key {shown(query)}: expected the reasoning as text, got {type(text).__name__}")
        mapping[_query_key(query, limits)] = _check_reasoning(text, label, f"key {shown(query)}", limits)
    return mapping


def load_tongsearch_json(path: str | Path) -> ReasoningSource:
    """TongSearch QR's released reasonings: one JSON object, original query text -> reasoned query."""
    path = Path(path)
    return ReasoningSource(path.name, by_query=_mapping_of_text(read_json_value(path, str(path)), str(path)))


def _text_field(table: Table, index: int, row: dict, field_name: str) -> str:
    """A row's text field (an int id as text); DataError naming file, row and field when missing or not text."""
    if field_name not in row:
        raise DataError(f"{table.label}: {table.where(index)}: missing field {field_name!r}")
    value = row[field_name]
    if isinstance(value, int) and not isinstance(value, bool) and field_name == "id":
        value = str(value)
    if not isinstance(value, str):
        raise DataError(f"{table.label}: {table.where(index)}: field {field_name!r}: expected text, got "
                        f"{'null' if value is None else type(value).__name__}")
    return value


def _texts_by_query(rows: Sequence[tuple[str, str, str]], label: str, model: str | None) -> dict[str, str]:
    """{query: text} from (query, text, model) rows; later rows win (a rerun refreshes an entry)."""
    models = sorted({row_model for _, _, row_model in rows})
    if model is None and len(models) > 1:
        raise DataError(f"{label}: reasonings of several models ({', '.join(models)}): choose one with model=")
    by_query = {query: text for query, text, row_model in rows if model is None or row_model == model}
    if model is not None and not by_query:
        raise DataError(f"{label}: no reasonings by model {model!r}; found {', '.join(models) or 'none'}")
    return by_query


def _query_text_rows(table: Table) -> list[tuple[str, str, str]]:
    """(query, text, model) from a table with query and text columns (an export of any tool's reasonings)."""
    limits = Limits.from_env()
    return [(_query_key(_text_field(table, index, row, "query"), limits),
             _check_reasoning(_text_field(table, index, row, "text"), table.label, table.where(index), limits),
             str(row.get("model", ""))[:limits.id_chars])
            for index, row in enumerate(table.rows)]


def load_reasoning_cache(path: str | Path, model: str | None = None) -> ReasoningSource:
    """tsqr's reasoning cache (a JSONL file, or a folder of them), read by the cache's own reader (which skips,
    with a warning, a last line a killed writer left unfinished)."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no .jsonl reasoning cache files in this folder")
    rows = []
    for file in files:
        try:
            rows += [(row.query, row.text, row.model) for row in ReasoningCache(file).rows()]
        except OSError as error:
            raise cannot_read(str(file), error) from None
    label = ", ".join(str(file) for file in files)
    return ReasoningSource(path.name if model is None else f"{path.name} [{model}]",
                           by_query=_texts_by_query(rows, label, model))


def _is_cache_file(path: Path) -> bool:
    """A JSONL file whose first row has the cache's key, query and text: tsqr's cache, not BRIGHT rows."""
    first = read_start(path, 1 << 20, str(path)).split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and {"key", "query", "text"} <= row.keys()


def _id_rows(tables: Sequence[Table]) -> dict[str, str]:
    """{example id: reasoning} from rows shaped like BRIGHT examples whose "query" field holds the reasoning."""
    limits = Limits.from_env()
    by_id: dict[str, str] = {}
    first: dict[str, str] = {}
    for table in tables:
        for index, row in enumerate(table.rows):
            qid = _text_field(table, index, row, "id")
            check_id(qid, table.label, table.where(index), "id", limits)
            if qid in by_id:
                raise DataError(f"{table.label}: {table.where(index)}: field 'id': duplicate id {qid!r} "
                                f"(first at {first[qid]})")
            by_id[qid] = _check_reasoning(_text_field(table, index, row, "query"), table.label,
                                          table.where(index), limits)
            first[qid] = f"{table.label} {table.where(index)}"
    return by_id


def _reason_config(model: str) -> str:
    return model if model.endswith("_reason") else f"{model}_reason"


def load_bright_reasonings(source: str | Path | Sequence[str | Path], domain: str, model: str) -> ReasoningSource:
    """BRIGHT's `<model>_reason` config for one domain (model: gpt4, llama3-70b, claude-3-opus, Gemini-1.0, grit),
    from "hub", a downloaded copy of the hub repository, or the config's file(s)."""
    domain, config = canonical_domain(domain), _reason_config(model)
    if isinstance(source, str) and source == "hub":
        return ReasoningSource(f"hub {config}/{domain}", by_id=_id_rows([read_hub_split(config, domain)]))
    paths = [Path(source)] if isinstance(source, (str, Path)) else [Path(p) for p in source]
    if len(paths) == 1 and paths[0].is_dir():
        files = hub_split_files(paths[0], config, domain)
        if not files:
            raise DataError(f"{paths[0]}: no {config}/{domain}-*.parquet (the xlangai/BRIGHT layout)")
        paths = files
    return ReasoningSource(f"{config}/{domain}", by_id=_id_rows([read_table(p) for p in paths]))


def load_reasonings(source: str | Path, *, domain: str | None = None, model: str | None = None) -> ReasoningSource:
    """Any reasoning source, recognised by shape: a JSON object (TongSearch), rows with "query" and "text"
    (tsqr's cache, `model` picks one model), rows with "id" and "query" (BRIGHT's <model>_reason), a folder
    of cache files, or "hub" / a copy of the hub repository (give `domain` and `model`)."""
    path = Path(source)
    if source == "hub" or (path.is_dir() and any(path.glob("*_reason"))):
        if domain is None or model is None:
            found = [p.name for p in path.glob("*_reason")] if path.is_dir() else BRIGHT_REASONING_MODELS
            raise DataError(f"{source}: BRIGHT reasoning configs need domain= and model= (one of {', '.join(found)})")
        return load_bright_reasonings(source, domain, model)
    if path.is_dir():
        return load_reasoning_cache(path, model)
    if not path.is_file():
        raise DataError(f"{path}: reasoning file not found")
    kind = detect_format(path)
    if kind == "jsonl" and _is_cache_file(path):
        return load_reasoning_cache(path, model)
    if kind == "json":
        value = read_json_value(path, str(path))
        if isinstance(value, dict):
            return ReasoningSource(path.name, by_query=_mapping_of_text(value, str(path)))
    table = read_table(path, kind=kind)
    columns = table.columns
    if {"query", "text"} <= columns:
        return ReasoningSource(path.name, by_query=_texts_by_query(_query_text_rows(table), table.label, model))
    if {"id", "query"} <= columns:
        return ReasoningSource(path.name, by_id=_id_rows([table]))
    raise DataError(f"{path}: not a reasoning file: expected a JSON object (query -> reasoning), rows with "
                    f"query and text (tsqr cache), or rows with id and query (BRIGHT <model>_reason); found "
                    f"columns {', '.join(sorted(columns)) or 'none'}")


@dataclass(frozen=True)
class CacheSetting:
    """What produced a cache row besides its query: model, prompt template and the generation settings that change
    the text. Rows of different settings answer the same query differently, so one export holds one setting."""

    model: str
    template: str
    settings: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, row: CacheRow) -> "CacheSetting":
        return cls(row.model, row.template, tuple(sorted(row.settings.items())))

    @property
    def id(self) -> str:
        """A short stable name for the setting (`export-reasonings --setting ID`), the same in every run."""
        payload = json.dumps([self.model, self.template, self.settings], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]

    def describe(self) -> str:
        return " ".join([f"model={self.model or '?'}", f"template={self.template or '?'}",
                         *(f"{name}={value}" for name, value in self.settings)])


def export_cache(cache: ReasoningCache, destination: str | Path, *, model: str | None = None,
                 template: str | None = None, setting: str | None = None) -> int:
    """Write a reasoning cache as TongSearch's JSON; returns how many queries were written.

    The rows written must share one CacheSetting: when those left by `model` / `template` were made with several,
    DataError lists them, one per line with its id, and `setting` (an id) picks one. Mixing them silently would
    give a file whose reasonings came from different settings with nothing to say which.
    """
    rows = [row for row in cache.rows()
            if (model is None or row.model == model) and (template is None or row.template == template)]
    found: dict[CacheSetting, int] = {}
    for row in rows:
        found[CacheSetting.of(row)] = found.get(CacheSetting.of(row), 0) + 1
    if setting is not None:
        if setting not in {kind.id for kind in found}:
            raise DataError(f"{cache.path}: no rows with setting {setting!r}; settings found:\n"
                            + _listed(found))
        rows = [row for row in rows if CacheSetting.of(row).id == setting]
    elif len(found) > 1:
        raise DataError(f"{cache.path} holds reasonings made with {len(found)} different settings; choose one "
                        f"with --setting ID (IDs below), or narrow with --template:\n" + _listed(found))
    mapping = {row.query: row.text for row in rows}
    write_tongsearch_json(mapping, destination)
    return len(mapping)


def _listed(found: Mapping[CacheSetting, int]) -> str:
    return "\n".join(f"  {kind.id}  {count} reasonings  {kind.describe()}" for kind, count in found.items())


def import_into_cache(cache: ReasoningCache, source: str | Path, model: str, template: PromptTemplate,
                      settings: GenerationSettings) -> int:
    """Store a TongSearch-style JSON file in `cache` as if `model` had written it with these settings, so a
    reasoner reuses reasonings computed elsewhere (e.g. TongSearch's released files for the same checkpoint)
    instead of regenerating them. Returns how many new rows were added."""
    fresh = []
    for query, text in load_tongsearch_json(source).by_query.items():
        key = reasoning_key(model, template, settings, query)
        if key not in cache:
            fresh.append(CacheRow(key=key, query=query, text=text, model=model, template=template.name,
                                  settings=settings.output_fields()))
    cache.append(fresh)
    return len(fresh)


def write_tongsearch_json(mapping: Mapping[str, str] | Iterable[Reasoning], path: str | Path) -> Path:
    """Write {original query: reasoning} exactly as TongSearch QR released theirs (one line, UTF-8 unescaped),
    so other tools that read their files read ours. Reasoning records are accepted too (query -> text)."""
    if not isinstance(mapping, Mapping):
        mapping = {reasoning.query: reasoning.text for reasoning in mapping}
    for query, text in mapping.items():
        if not isinstance(query, str) or not isinstance(text, str):
            raise DataError(f"{path}: every key and value must be text; got {type(query).__name__} -> "
                            f"{type(text).__name__} for {str(query)[:60]!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(mapping), ensure_ascii=False), encoding="utf-8")
    return path
