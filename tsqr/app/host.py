"""What one running app shares between its handlers: the host's policy, the corpora, the bounded model line,
and the handlers that only touch those (corpus lists, example queries, uploads of documents).

Usage (app.py):
    exit_on_bad_environment(server_name)   # `python app.py`: a bad variable is one line and exit code 2
    host = Host.start(checked_policy(server_name))
    host.follow(checked_policy(launch_server_name))     # launch may serve another address than the import read
    load.click(host.load_documents, ...)

The policy is read at import (the interface offers what it allows) and again when `launch` knows its address;
`follow` keeps the same store and line, only their bounds change, so nothing loaded is lost. Gradio is imported
here because only app.py imports this module (`python -m tsqr` never does).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import gradio as gr

from tsqr.app.corpora import CorpusStore, load_demo, load_uploaded_documents, shown_error
from tsqr.app.public import HostPolicy, host_policy
from tsqr.app.render import clip_words, error_markdown
from tsqr.app.turns import Line
from tsqr.cli_checks import check_variables, run_command
from tsqr.limits import ConfigurationError
from tsqr.reasoner import GenerationSettings
from tsqr.reasoner.hardware import hardware

log = logging.getLogger("tsqr.app")


def checked_policy(server_name: str | None) -> HostPolicy:
    """Every variable the app reads, checked at once: the CLI's (tsqr.cli_checks.check_variables: the caps, the
    cache folder, the server probe's limit) and the host policy's own (TSQR_MAX_MODEL_QUEUE, TSQR_MAX_INDEX_SECONDS,
    ...); ConfigurationError naming the first bad one."""
    check_variables()
    try:
        return host_policy(server_name)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def exit_on_bad_environment(server_name: str | None) -> None:
    """Before anything is built: a bad variable is one line on stderr and exit code 2 (tsqr.cli_checks, as the
    CLI says it), so a misconfigured host never serves."""
    def check() -> int:
        checked_policy(server_name)
        return 0

    code = run_command(check)
    if code:
        raise SystemExit(code)


def generation_settings(max_new_tokens: float) -> GenerationSettings:
    """The generation settings of a slider's value (Gradio sends floats)."""
    return GenerationSettings(max_new_tokens=int(max_new_tokens))


def failure(error: Exception, uploads=()) -> str:
    """A readable one-line message for the UI; the traceback goes to the server log only."""
    if not isinstance(error, (ValueError, LookupError, OSError, RuntimeError)):
        log.exception("unexpected error")
    return error_markdown(shown_error(error, uploads))


class Host:
    """The policy in force, the corpora (the bundled demo pinned) and the line of searches waiting for a model."""

    def __init__(self, policy: HostPolicy, model_line: Line, store: CorpusStore):
        self.policy, self.model_line, self.store = policy, model_line, store
        self.demo_id, self.demo_note = self._load_demo_corpus()

    @classmethod
    def start(cls, policy: HostPolicy) -> "Host":
        return cls(policy, Line(policy.max_model_queue), CorpusStore(work=policy.work_bounds))

    def follow(self, policy: HostPolicy) -> bool:
        """Apply `policy` (the one for the address actually served); True when it differs, so the interface must
        be rebuilt to offer only its choices."""
        if policy == self.policy:
            return False
        self.policy = policy
        self.store.work, self.model_line.capacity = policy.work_bounds, policy.max_model_queue
        return True

    def _load_demo_corpus(self) -> tuple[str | None, str]:
        """Register the bundled demo corpus; the app still starts (with a note) if it is missing."""
        try:
            return self.store.add(load_demo(), "demo (bundled)", pinned=True).id, ""
        except Exception as error:
            log.warning("demo corpus not loaded: %s", error)
            return None, (f"The bundled demo corpus could not be loaded ({shown_error(error)}); "
                          "upload documents below.")

    def corpus_dropdown(self, session_ids: list[str], selected: str | None = None):
        """The corpus picker's update: this session's corpora and the shared ones, `selected` when it is one."""
        choices = self.store.choices(session_ids)
        ids = [value for _, value in choices]
        return gr.update(choices=choices, value=selected if selected in ids else (ids[0] if ids else None))

    def example_choices(self, corpus_id: str | None) -> list[tuple[str, str]]:
        """The selected corpus's dataset queries, for the example picker: (id and start of the query, query)."""
        if not corpus_id or corpus_id not in self.store:
            return []
        return [(clip_words(f"{ex.id}: {ex.query}", 90), ex.query)
                for ex in self.store.get(corpus_id).domain.examples]

    def load_documents(self, files: list[str] | None, session_ids: list[str]):
        """Search tab upload: a documents-only corpus (id + content) becomes selectable."""
        files = files or []
        try:
            names = [Path(f).stem.split(".")[0] for f in files]
            domain = load_uploaded_documents(files, name=names[0] if len(names) == 1 else "uploaded")
            corpus = self.store.add(domain, f"uploaded: {domain.source} ({len(domain.documents)} docs)")
            started = time.perf_counter()
            self.store.index(corpus.id, progress=False)  # in a worker process, under the host's time budget
        except Exception as error:
            return failure(error, files), session_ids, gr.skip()
        session_ids = [*session_ids, corpus.id]
        return (f"Loaded {len(domain.documents)} documents from {domain.source} (indexed in "
                f"{time.perf_counter() - started:.1f} s).", session_ids, self.corpus_dropdown(session_ids, corpus.id))

    def footer(self) -> str:
        """The page's last line: where generation runs and how requests wait (and public mode's bounds)."""
        policy = self.policy
        mode = (f" Public mode: models {', '.join(policy.models)}; queries up to {policy.max_query_chars:,} "
                "characters." if policy.public else "")
        return (f"<small>Generation runs on {hardware()}. One search and one evaluation generate at a time (the "
                f"others wait in line, up to {policy.max_model_queue} searches); raw results never wait.{mode}"
                "</small>")
