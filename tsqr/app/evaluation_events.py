"""The Evaluate tab's handlers: a whole evaluation (raw vs reasoned) and a comparison of several systems, each
streaming its progress while every finished domain's results stay shown and downloadable.

Usage (app.py):
    events = EvaluationEvents(host)
    run.click(events.evaluate, [...], api_name="evaluate")
    compare_button.click(events.compare_systems, [...], api_name="compare")

The work is tsqr.app.evaluation's EvaluationJob and tsqr.app.comparison's ComparisonJob; these handlers check
the request against the host's policy (tsqr.app.host), keep the downloads in a folder of their own for the run,
and turn each update into the tab's outputs. Bound methods, so the API's parameters keep these names.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from tsqr.app.charts import (
    biggest_changes,
    delta_histogram,
    domain_bars,
    query_scatter,
    summary_table,
    systems_scatter,
)
from tsqr.app.choices import checked_retriever
from tsqr.app.comparison import ComparisonJob, SystemsChoice, comparison_markdown, comparison_status, frontier_chart
from tsqr.app.evaluation import DataChoice, EvaluationJob, ReasoningChoice
from tsqr.app.host import Host, failure, generation_settings
from tsqr.app.render import changes_html, error_markdown
from tsqr.evaluate import EvaluationConfig, format_costs

REASONING_MODEL, REASONING_FILE = "model", "precomputed reasoning file"  # the Evaluate tab's reasoning sources


class EvaluationEvents:
    """`evaluate` and `compare_systems` for one host."""

    def __init__(self, host: Host):
        self.host = host

    def evaluate(self, files, corpus_files, name, hub_domains, limit, source, model, reasoning_file, max_new_tokens,
                 scoring, session_ids, mode="replace", retriever="bm25", progress=gr.Progress()):
        """Run an evaluation, streaming progress; every finished domain's results stay shown and downloadable.

        Yields (status, summary table, bars, scatter, histogram, gained, lost, downloads, session ids, corpus list).
        The downloads are written to a folder of their own, deleted when the run ends (finished, failed or
        stopped): Gradio has copied every file it was given into its cache by then, and deletes those copies
        (app.py's DELETE_CACHE).
        """
        with tempfile.TemporaryDirectory(prefix="tsqr-evaluation-") as out_dir:
            yield from self._evaluate(files, corpus_files, name, hub_domains, limit, source, model, reasoning_file,
                                      max_new_tokens, scoring, session_ids, mode, retriever, progress, Path(out_dir))

    def _evaluate(self, files, corpus_files, name, hub_domains, limit, source, model, reasoning_file,
                  max_new_tokens, scoring, session_ids, mode, retriever, progress, out_dir: Path):
        policy, use_file = self.host.policy, source == REASONING_FILE
        uploads = _paths(files, corpus_files, [reasoning_file] if use_file and reasoning_file else [])
        try:
            data = self._data(files, corpus_files, name, hub_domains, limit)
            if use_file and not reasoning_file:
                raise ValueError("no reasoning file uploaded: add one, or choose a model as the reasoning source")
            reasoning = ReasoningChoice(model="none" if use_file else policy.check_model(model),
                                        file=Path(reasoning_file) if use_file else None,
                                        settings=None if use_file else generation_settings(max_new_tokens))
            config = EvaluationConfig(scoring=scoring, composition=mode, retriever=checked_retriever(retriever))
            job = EvaluationJob(self.host.store, out_dir, config, reasoning, max_query_chars=policy.max_query_chars)
        except Exception as error:
            yield (failure(error, uploads), *UNCHANGED, session_ids, gr.skip())
            return
        # A new run clears the last one's results at once: nothing on the page belongs to another run. One progress
        # figure (the pipeline's, not also every tqdm bar beneath it: gr.Progress without track_tqdm).
        yield ("**starting**", None, None, None, None, "", "", None, session_ids, gr.skip())
        shown_reports, known_corpora = 0, 0
        for update in job.run(data):
            progress(update.fraction, desc=update.message)
            last = update.done or bool(update.error)  # API callers only see the last yield: it carries everything
            session_ids, corpora, known_corpora = self._corpora(update.corpus_ids, last, session_ids, known_corpora)
            results = UNCHANGED
            if len(update.reports) > shown_reports or (last and update.reports):
                shown_reports = len(update.reports)
                gained, lost = biggest_changes(update.reports)
                results = (summary_table(update.reports), domain_bars(update.reports), query_scatter(update.reports),
                           delta_histogram(update.reports), changes_html(gained, "Gained most"),
                           changes_html(lost, "Lost most"), [str(path) for path in update.files])
            yield (_status(update), *results, session_ids, corpora)

    def compare_systems(self, files, corpus_files, name, hub_domains, limit, models, reasoning_files, human,
                        retrievers, modes, test, alpha, max_new_tokens, scoring, session_ids):
        """Compare several systems on the chosen data, streaming progress; the tables, the frontier and the pair of
        systems for the per-query scatter follow every finished domain.

        Yields (status, tables, frontier, x system, y system, scatter, downloads, per-query scores, session ids,
        corpus list). Downloads live in a folder deleted when the run ends, as `evaluate`'s do.
        """
        with tempfile.TemporaryDirectory(prefix="tsqr-comparison-") as out_dir:
            yield from self._compare_systems(files, corpus_files, name, hub_domains, limit, models, reasoning_files,
                                             human, retrievers, modes, test, alpha, max_new_tokens, scoring,
                                             session_ids, Path(out_dir))

    def _compare_systems(self, files, corpus_files, name, hub_domains, limit, models, reasoning_files, human,
                         retrievers, modes, test, alpha, max_new_tokens, scoring, session_ids, out_dir: Path):
        policy, uploads = self.host.policy, _paths(files, corpus_files, reasoning_files)
        try:
            data = self._data(files, corpus_files, name, hub_domains, limit)
            choice = SystemsChoice(tuple(policy.check_model(m) for m in models or []),
                                   tuple(Path(f) for f in reasoning_files or []), bool(human),
                                   tuple(checked_retriever(r) for r in retrievers or ["bm25"]),
                                   tuple(modes or ["replace"]), scoring, generation_settings(max_new_tokens), test,
                                   float(0.05 if alpha is None else alpha))
            job = ComparisonJob(self.host.store, out_dir, choice, public=policy.public,
                                max_query_chars=policy.max_query_chars)
        except Exception as error:
            yield (failure(error, uploads), *UNCHANGED, session_ids, gr.skip())
            return
        shown_domains = known_corpora = 0
        for update in job.run(data):
            last = update.done or bool(update.error)
            session_ids, corpora, known_corpora = self._corpora(update.corpus_ids, last, session_ids, known_corpora)
            results = UNCHANGED
            experiment = update.experiment
            finished = len(experiment.finished_domains) if experiment is not None else 0
            if finished > shown_domains or (last and finished):
                shown_domains = finished
                labels, scores = [s.label for s in experiment.systems], experiment.scores()
                x, y = labels[0], labels[-1]
                results = (comparison_markdown(experiment), frontier_chart(experiment),
                           gr.Dropdown(labels, value=x), gr.Dropdown(labels, value=y), systems_scatter(scores, x, y),
                           [str(path) for path in update.files], scores)
            yield (comparison_status(update), *results, session_ids, corpora)

    def _data(self, files, corpus_files, name, hub_domains, limit) -> DataChoice:
        """The data both tabs' runs read: uploads, and hub domains only as the host's policy allows."""
        return DataChoice(tuple(Path(f) for f in files or []), tuple(Path(f) for f in corpus_files or []),
                          name or "", self.host.policy.check_hub_domains(hub_domains or []), int(limit or 0))

    def _corpora(self, corpus_ids, last: bool, session_ids: list[str], known: int):
        """(session ids, corpus list update, corpora known): a domain the run loaded becomes searchable in the
        Search tab as soon as it is loaded, and the last update carries them all for API callers."""
        if len(corpus_ids) > known or (last and corpus_ids):
            session_ids = list(dict.fromkeys([*session_ids, *corpus_ids]))
            return session_ids, self.host.corpus_dropdown(session_ids, corpus_ids[-1]), len(corpus_ids)
        return session_ids, gr.skip(), known


UNCHANGED = (gr.skip(),) * 7  # the seven result outputs of either run, when an update brings no new results


def _paths(*groups) -> list[Path]:
    """Every uploaded file of a request, so an error message can name them by their upload names."""
    return [Path(f) for group in groups for f in group or []]


def _status(update) -> str:
    """An evaluation update as Markdown: its message or error, its warnings, and what the reasoning cost."""
    lines = [error_markdown(update.error) if update.error else f"**{update.message}**"]
    if update.error and update.reports:
        lines.append(f"The results of the {len(update.reports)} finished domain(s) are kept below.")
    lines += [f"- {warning}" for warning in update.warnings]
    costs = format_costs(update.reports)
    if costs:
        lines += ["", "**Reasoning cost**"] + [f"- {line}" for line in costs.splitlines()]
    return "\n".join(lines)
