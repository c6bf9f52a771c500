"""Raw vs reasoned retrieval on BRIGHT-shaped data, scored as BRIGHT scores it: the runner the CLI and the app share.

Usage:
    from tsqr.evaluate import DomainSource, EvaluationConfig, ReasoningPlan, run
    for event in run([DomainSource("demo", "demo")], ReasoningPlan.from_spec("none"), EvaluationConfig()):
        ...

Modules: `scoring` (one domain: EvaluationConfig, the two axes, DomainReport with raw and reasoned sides),
`pipeline` (every domain: load, check, index, reason, score, write, as one generator of Progress events),
`results` (the output files and the summary table: their one owner).
"""
from tsqr.evaluate.pipeline import DomainSource, Progress, ReasoningPlan, load_domains, run
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
from tsqr.evaluate.scoring import (
    DEFAULT_MEASURES,
    DomainReport,
    EvaluationConfig,
    ReasoningCost,
    SideResult,
    evaluate_domain,
)

__all__ = [
    "DEFAULT_MEASURES", "DomainReport", "DomainSource", "EvaluationConfig",
    "HEADLINE_MEASURES", "Progress", "RESULTS_FILE", "ReasoningCost", "ReasoningPlan", "SideResult", "SummaryRow",
    "evaluate_domain", "format_costs", "format_table", "load_domains", "results_document", "run", "summary_rows",
    "write_outputs",
]
