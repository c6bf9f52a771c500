"""The Search tab's handlers: one query's raw results at once, then its reasoning (released or streamed from a
live model, in turn with other searches), then the reasoned results, scores and cost.

Usage (app.py):
    events = SearchEvents(host, stream=on_gpu(stream_reasoning))
    gr.on([run.click, query.submit], events.search, [...], api_name="search")
    stop.click(events.stopped, reasoned_column, reasoned_column, cancels=[searching])

The handlers are bound methods so Gradio names the API's parameters after `search`'s own (query, corpus_id, model,
...), which API callers (gradio_client) use; the host (tsqr.app.host) gives them the policy in force.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from itertools import chain

import gradio as gr

from tsqr.app.background import Background
from tsqr.app.choices import LIVE_SOURCE, checked_retriever, checked_source, model_label
from tsqr.app.corpora import shown_error
from tsqr.app.host import Host, failure, generation_settings
from tsqr.app.models import POOL, SEARCH_TURNS, needs_model
from tsqr.app.render import cost_markdown, gold_moves_markdown, results_html, scores_markdown
from tsqr.app.search import compare, find_example, released_reasoning
from tsqr.app.turns import LineFull
from tsqr.reasoner.hardware import hardware
from tsqr.records import Domain
from tsqr.released import RELEASED

TURN_POLL_S = 0.5  # how often a search waiting for the model (or for an embedding) shows how far it is
STREAM_REFRESH_S = 0.1  # how often the streamed reasoning is pushed to the browser


class SearchEvents:
    """`search` and `stopped` for one host; `stream(spec, settings, query)` yields the live reasoning's pieces."""

    def __init__(self, host: Host, stream: Callable[..., Iterator[str]]):
        self.host, self.stream = host, stream

    def search(self, query: str, corpus_id: str, model: str, max_new_tokens: float, k: float, scoring: str,
               mode: str = "replace", retriever: str = "bm25", source: str = LIVE_SOURCE):
        """Raw BM25 results at once, then the chosen retriever's (the first dense use shows how far embedding
        the corpus got), then the reasoning: a released one at once (no model loaded), or the live model's as it
        streams; then the reasoned results, the scores and what it cost.

        Yields (reasoning, info, gold moves, raw column, reasoned column). The raw results come before the model
        is loaded or its turn has come; a search waiting for its turn shows how many are ahead of it.
        """
        raw_column = results_html(None, "raw", "no results")
        store, policy = self.host.store, self.host.policy
        try:
            kind, source = checked_retriever(retriever), checked_source(source)
            spec = policy.check_model(model)
            settings = generation_settings(max_new_tokens)
            if not corpus_id:
                raise ValueError("no corpus selected: pick the demo corpus or upload documents")
            corpus = store.get(corpus_id)
            query, note = self._searched_query(query or "", corpus.domain)
            index = store.index(corpus_id, progress=False)
            options = dict(k=int(k), scoring=scoring, composition=mode, documents=corpus.documents_by_id)
            if not store.ready(corpus_id, kind, scoring):  # BM25's results while the corpus is embedded (1st use)
                comparison = compare(corpus.domain, index, query, None, **options)
                raw_column = results_html(comparison.raw, "raw")
                work = Background(lambda on_progress: store.retriever(corpus_id, kind, scoring, on_progress))
                for figure in chain(["starting"], work.figures(TURN_POLL_S)):  # lazily: each figure when it comes
                    yield ("", f"{scores_markdown(comparison)}{note}\n\n_BM25's results for now: embedding the corpus "
                               f"for {kind} retrieval (once; kept after): {figure}_", "", raw_column,
                           results_html(None, "reasoned", f"waiting for the {kind} retriever..."))
                options["retriever"] = work.result()
            else:
                options["retriever"] = store.retriever(corpus_id, kind, scoring)
            searched_by = "BM25" if kind == "bm25" else kind
            comparison = compare(corpus.domain, index, query, None, **options)
            raw_column = results_html(comparison.raw, "raw")
            if source != LIVE_SOURCE:
                try:
                    text = released_reasoning(source, corpus.domain, query)
                except LookupError as error:  # offline and not cached, not a BRIGHT domain, a query it lacks
                    note += (f"\n\n**No released reasoning**: {shown_error(error)}. {model_label(spec)} reasons "
                             "instead.")
                else:
                    started = time.perf_counter()
                    comparison = compare(corpus.domain, index, query, text, **options)
                    cost = cost_markdown(None, False, hardware(), searched_by, time.perf_counter() - started,
                                         released=RELEASED[source].label)
                    yield (text, f"{scores_markdown(comparison)}{note}\n\n{cost}", gold_moves_markdown(comparison),
                           raw_column, results_html(comparison.reasoned, "reasoned"))
                    return
            yield ("", scores_markdown(comparison) + note, "", raw_column,
                   results_html(None, "reasoned", f"waiting for {model_label(spec)} to reason..."))
            text, shown_at = "", 0.0
            # a place in the bounded line while loading, waiting and generating: LineFull (told at once) past it
            place = self.host.model_line.place() if needs_model(spec) else nullcontext()
            with place, POOL.lease(spec, settings) as reasoner:
                generated = reasoner.needs_generation(query)  # the model is loaded here, in the main process
                with SEARCH_TURNS.ticket() if generated else nullcontext() as ticket:
                    for ahead in ticket.waiting(TURN_POLL_S) if ticket else ():
                        waiting = f"waiting for the model: {ahead} search(es) ahead of yours"
                        yield "", gr.skip(), gr.skip(), gr.skip(), results_html(None, "reasoned", waiting)
                    for piece in self.stream(spec, settings, query):
                        text += piece
                        if time.monotonic() - shown_at > STREAM_REFRESH_S:
                            shown_at = time.monotonic()
                            yield text, gr.skip(), gr.skip(), gr.skip(), gr.skip()
                row = reasoner.cached(query)
            started = time.perf_counter()
            comparison = compare(corpus.domain, index, query, text, **options)
            cost = cost_markdown(row, generated, hardware(), searched_by, time.perf_counter() - started,
                                 reveal_cache=not policy.public)
            yield (text, f"{scores_markdown(comparison)}{note}\n\n{cost}", gold_moves_markdown(comparison),
                   raw_column, results_html(comparison.reasoned, "reasoned"))
        except LineFull as full:  # the raw results stay; the reasoned column says why there is no reasoning
            yield "", f"**{full}**", "", raw_column, results_html(None, "reasoned", str(full))
        except Exception as error:  # raw results found before the failure stay; nothing stale from an earlier one
            yield "", failure(error), "", raw_column, results_html(None, "reasoned", "no reasoning: see the error")

    @staticmethod
    def stopped(reasoned_column: str):
        """Stop pressed: a reasoned column still waiting says so; the reasoning written so far stays in its box."""
        if "data-doc-id" in (reasoned_column or ""):
            return gr.skip()  # the search had finished: its results stay
        return results_html(None, "reasoned",
                            "stopped: the reasoning written so far stays above; Search starts again")

    def _searched_query(self, query: str, domain: Domain) -> tuple[str, str]:
        """The query cut to the host's bound, with a Markdown note when cut; the corpus's own example queries are
        kept whole (BRIGHT has queries of 19k characters), so a picked example is still judged against its gold
        documents."""
        if len(query) <= self.host.policy.max_query_chars or find_example(domain, query) is not None:
            return query, ""
        query, note = self.host.policy.bounded_query(query)
        return query, f"\n\n**Note**: {note}"
