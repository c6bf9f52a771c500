"""Raw vs reasoned retrieval on BRIGHT-shaped data, scored as BRIGHT scores it: the runner the CLI and the app share.

Usage:
    from tsqr.evaluate import DomainSource, EvaluationConfig, ReasoningPlan, run
    for event in run([DomainSource("demo", "demo")], ReasoningPlan.from_spec("none"), EvaluationConfig()):
        ...

Modules: `scoring` (one domain: EvaluationConfig, the two axes, DomainReport with raw and reasoned sides),
`plan` (where the reasonings come from: ReasoningPlan), `pipeline` (every domain: load, check, index, reason,
score, write, as one generator of Progress events),
`results` (the output files and the summary table: their one owner). Several systems in one run: `systems`
(System: a reasoning source, composition and retriever with a label and an identity), `runs` (one system on one
domain, stored by the system's key), `runner` (run_systems: every system on every domain, the index once per
domain), `experiment` (the comparison with the baseline and its files: results.json, tables, frontier).
"""
from tsqr.evaluate.pipeline import DomainSource, Progress, load_domains, run
from tsqr.evaluate.plan import ReasoningPlan
from tsqr.evaluate.results import (
    HEADLINE_MEASURES,
    RESULTS_FILE,
    SummaryRow,
    format_costs,
    format_table,
    results_document,
    summary_rows,
    write_outputs,
)
from tsqr.evaluate.runner import run_systems
from tsqr.evaluate.scoring import (
    DEFAULT_MEASURES,
    DomainReport,
    EvaluationConfig,
    ReasoningCost,
    SideResult,
    evaluate_domain,
)
from tsqr.evaluate.systems import System, expand_systems, load_systems_file

__all__ = [
    "DEFAULT_MEASURES", "DomainReport", "DomainSource", "EvaluationConfig",
    "HEADLINE_MEASURES", "Progress", "RESULTS_FILE", "ReasoningCost", "ReasoningPlan", "SideResult", "SummaryRow",
    "System", "evaluate_domain", "expand_systems", "format_costs", "format_table", "load_domains", "load_systems_file",
    "results_document", "run", "run_systems", "summary_rows", "write_outputs",
]
