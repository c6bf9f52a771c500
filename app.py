"""tsqr's Gradio app: watch a small LLM reason about a query, and see what that does to BM25 (TongSearch QR).

Usage:
    python app.py                          # http://127.0.0.1:7860 ($GRADIO_SERVER_NAME / _PORT to change)
    TSQR_MODEL=TongSearch/TongSearch-QR-1.5B python app.py
    TSQR_PUBLIC=1 TSQR_MODELS=default,none python app.py    # public mode (see tsqr/app/public.py)

Search tab: one query, its reasoning streamed as it is written, BM25's top documents for the raw and for the
reasoned query side by side (gold documents marked for dataset queries). Evaluate tab: a whole BRIGHT subset,
raw vs reasoned, with charts and downloads. This file is only the interface: loading, searching, reasoning and
scoring are tsqr's (tsqr.app modules for the app's own logic), so the app and the CLI cannot disagree.
Importing it builds the interface but loads no model and no index; both load on first use and are shared.
Hosted in public (a Space, TSQR_PUBLIC=1, or any address beyond loopback) every handler checks its inputs
against the host's policy (tsqr.app.public): a visitor's API call can send any string, not only what the page offers.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from contextlib import nullcontext
from itertools import chain
from pathlib import Path

import gradio as gr

from tsqr.app.charts import (
    SUMMARY_HEADERS,
    biggest_changes,
    delta_histogram,
    domain_bars,
    query_scatter,
    summary_table,
    systems_scatter,
)
from tsqr.app.background import Background
from tsqr.app.choices import (
    COMPOSITION_CHOICES,
    LIVE_SOURCE,
    RETRIEVER_CHOICES,
    SCORING_CHOICES,
    checked_retriever,
    checked_source,
    labelled_models,
    looking_at,
    model_label,
    source_choices,
)
from tsqr.app.comparison import ComparisonJob, SystemsChoice, comparison_markdown, comparison_status, frontier_chart
from tsqr.app.corpora import CorpusStore, load_demo, load_uploaded_documents, shown_error
from tsqr.app.evaluation import DataChoice, EvaluationJob, ReasoningChoice
from tsqr.app.gradio_cache import own_gradio_cache, sweep_gradio_caches
from tsqr.app.models import (
    POOL,
    SEARCH_TURNS,
    configured_model,
    model_choices,
    needs_model,
    on_gpu,
    stream_reasoning,
)
from tsqr.app.public import HostPolicy, host_policy
from tsqr.app.render import (
    CSS,
    changes_html,
    clip_words,
    cost_markdown,
    error_markdown,
    gold_moves_markdown,
    results_html,
    scores_markdown,
)
from tsqr.app.search import compare, find_example, released_reasoning
from tsqr.app.turns import Line, LineFull
from tsqr.bright import BRIGHT_DOMAINS
from tsqr.compare import TESTS
from tsqr.evaluate import EvaluationConfig, format_costs
from tsqr.reasoner import GenerationSettings
from tsqr.reasoner.hardware import hardware
from tsqr.records import Domain
from tsqr.released import RELEASED

log = logging.getLogger("tsqr.app")

MAX_UPLOAD = "200mb"
# Uploads and downloads (Gradio's cache) are deleted an hour after they were made, checked every 10 minutes.
DELETE_CACHE = (600, 3600)
# Searches run side by side, so raw BM25 results never wait behind someone's generation; generation itself takes
# turns (one search and one evaluation at a time: tsqr.app.models.SEARCH_TURNS, EVALUATION_TURNS), so several
# users wait in line, their place shown, instead of exhausting memory. The search event has RAW_SEARCH_SLOTS slots
# more than the searches the model line admits (MODEL_LINE, $TSQR_MAX_MODEL_QUEUE), so searches waiting for the
# model never take the slots raw results need; one more is told at once to try again. Uploads are indexed in a
# worker process (tsqr.app.worker) while their event waits. Beyond these, Gradio's queue holds events.
RAW_SEARCH_SLOTS, EVALUATION_CONCURRENCY, UPLOAD_CONCURRENCY = 8, 3, 2
MAX_NEW_TOKENS, MAX_RESULTS = 1024, 50  # the sliders' ends (Gradio refuses values beyond them, API calls too)
TURN_POLL_S = 0.5  # how often a search waiting for the model shows its place in line
REASONING_MODEL, REASONING_FILE = "model", "precomputed reasoning file"
STREAM_REFRESH_S = 0.1  # how often the streamed reasoning is pushed to the browser

GRADIO_CACHE = own_gradio_cache()  # before any interface is built: Gradio reads $GRADIO_TEMP_DIR then
POLICY: HostPolicy = host_policy(os.environ.get("GRADIO_SERVER_NAME"))  # launch() rechecks its server_name
STORE = CorpusStore(work=POLICY.work_bounds)
MODEL_LINE = Line(POLICY.max_model_queue)
STREAM = on_gpu(stream_reasoning)


def _load_demo_corpus() -> tuple[str | None, str]:
    """Register the bundled demo corpus; the app still starts (with a note) if it is missing."""
    try:
        return STORE.add(load_demo(), "demo (bundled)", pinned=True).id, ""
    except Exception as error:
        log.warning("demo corpus not loaded: %s", error)
        return None, f"The bundled demo corpus could not be loaded ({shown_error(error)}); upload documents below."


DEMO_ID, DEMO_NOTE = _load_demo_corpus()


def _settings(max_new_tokens: float):

    return GenerationSettings(max_new_tokens=int(max_new_tokens))


def _failure(error: Exception, uploads=()) -> str:
    """A readable one-line message for the UI; the traceback goes to the server log only."""
    if not isinstance(error, (ValueError, LookupError, OSError, RuntimeError)):
        log.exception("unexpected error")
    return error_markdown(shown_error(error, uploads))


# ------------------------------------------------------------------------------------------------ corpora
def corpus_dropdown(session_ids: list[str], selected: str | None = None):
    choices = STORE.choices(session_ids)
    ids = [value for _, value in choices]
    return gr.update(choices=choices, value=selected if selected in ids else (ids[0] if ids else None))


def example_choices(corpus_id: str | None) -> list[tuple[str, str]]:
    """The selected corpus's dataset queries, for the example picker: (id and start of the query, query)."""
    if not corpus_id or corpus_id not in STORE:
        return []
    return [(clip_words(f"{ex.id}: {ex.query}", 90), ex.query) for ex in STORE.get(corpus_id).domain.examples]


def load_documents(files: list[str] | None, session_ids: list[str]):
    """Search tab upload: a documents-only corpus (id + content) becomes selectable."""
    files = files or []
    try:
        names = [Path(f).stem.split(".")[0] for f in files]
        domain = load_uploaded_documents(files, name=names[0] if len(names) == 1 else "uploaded")
        corpus = STORE.add(domain, f"uploaded: {domain.source} ({len(domain.documents)} docs)")
        started = time.perf_counter()
        STORE.index(corpus.id, progress=False)  # in a worker process, under the host's time budget
    except Exception as error:
        return _failure(error, files), session_ids, gr.skip()
    session_ids = [*session_ids, corpus.id]
    return (f"Loaded {len(domain.documents)} documents from {domain.source} (indexed in "
            f"{time.perf_counter() - started:.1f} s).", session_ids, corpus_dropdown(session_ids, corpus.id))


# ------------------------------------------------------------------------------------------------ search
def search(query: str, corpus_id: str, model: str, max_new_tokens: float, k: float, scoring: str,
           mode: str = "replace", retriever: str = "bm25", source: str = LIVE_SOURCE):
    """Raw BM25 results at once, then the chosen retriever's (the first dense use shows how far embedding the
    corpus got), then the reasoning: a released one at once (no model loaded), or the live model's as it streams;
    then the reasoned results, the scores and what it cost.

    Yields (reasoning, info, gold moves, raw column, reasoned column). The raw results come before the model is
    loaded or its turn has come; a search waiting for its turn shows how many are ahead of it.
    """
    raw_column = results_html(None, "raw", "no results")
    try:
        kind, source = checked_retriever(retriever), checked_source(source)
        spec = POLICY.check_model(model)
        settings = _settings(max_new_tokens)
        if not corpus_id:
            raise ValueError("no corpus selected: pick the demo corpus or upload documents")
        corpus = STORE.get(corpus_id)
        query, note = _searched_query(query or "", corpus.domain)
        index = STORE.index(corpus_id, progress=False)
        options = dict(k=int(k), scoring=scoring, composition=mode, documents=corpus.documents_by_id)
        if not STORE.ready(corpus_id, kind, scoring):  # BM25's results while the corpus is embedded (first use)
            comparison = compare(corpus.domain, index, query, None, **options)
            raw_column = results_html(comparison.raw, "raw")
            work = Background(lambda on_progress: STORE.retriever(corpus_id, kind, scoring, on_progress))
            for figure in chain(["starting"], work.figures(TURN_POLL_S)):  # lazily: each figure when it comes
                yield ("", f"{scores_markdown(comparison)}{note}\n\n_BM25's results for now: embedding the corpus "
                           f"for {kind} retrieval (once; kept after): {figure}_", "", raw_column,
                       results_html(None, "reasoned", f"waiting for the {kind} retriever..."))
            options["retriever"] = work.result()
        else:
            options["retriever"] = STORE.retriever(corpus_id, kind, scoring)
        searched_by = "BM25" if kind == "bm25" else kind
        comparison = compare(corpus.domain, index, query, None, **options)
        raw_column = results_html(comparison.raw, "raw")
        if source != LIVE_SOURCE:
            try:
                text = released_reasoning(source, corpus.domain, query)
            except LookupError as error:  # offline and not cached, not a BRIGHT domain, a query it lacks
                note += f"\n\n**No released reasoning**: {shown_error(error)}. {model_label(spec)} reasons instead."
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
        with MODEL_LINE.place() if needs_model(spec) else nullcontext(), POOL.lease(spec, settings) as reasoner:
            generated = reasoner.needs_generation(query)  # the model is loaded here, in the main process
            with SEARCH_TURNS.ticket() if generated else nullcontext() as ticket:
                for ahead in ticket.waiting(TURN_POLL_S) if ticket else ():
                    yield ("", gr.skip(), gr.skip(), gr.skip(),
                           results_html(None, "reasoned", f"waiting for the model: {ahead} search(es) ahead of yours"))
                for piece in STREAM(spec, settings, query):
                    text += piece
                    if time.monotonic() - shown_at > STREAM_REFRESH_S:
                        shown_at = time.monotonic()
                        yield text, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            row = reasoner.cached(query)
        started = time.perf_counter()
        comparison = compare(corpus.domain, index, query, text, **options)
        cost = cost_markdown(row, generated, hardware(), searched_by, time.perf_counter() - started,
                             reveal_cache=not POLICY.public)
        yield (text, f"{scores_markdown(comparison)}{note}\n\n{cost}", gold_moves_markdown(comparison),
               raw_column, results_html(comparison.reasoned, "reasoned"))
    except LineFull as full:  # the raw results stay; the reasoned column says why there is no reasoning
        yield "", f"**{full}**", "", raw_column, results_html(None, "reasoned", str(full))
    except Exception as error:  # raw results found before the failure stay; nothing stale from an earlier search
        yield "", _failure(error), "", raw_column, results_html(None, "reasoned", "no reasoning: see the error")


def stopped(reasoned_column: str):
    """Stop pressed: a reasoned column still waiting says so; the reasoning written so far stays in its box."""
    if "data-doc-id" in (reasoned_column or ""):
        return gr.skip()  # the search had finished: its results stay
    return results_html(None, "reasoned", "stopped: the reasoning written so far stays above; Search starts again")


def _searched_query(query: str, domain: Domain) -> tuple[str, str]:
    """The query cut to the host's bound, with a Markdown note when cut; the corpus's own example queries are kept
    whole (BRIGHT has queries of 19k characters), so a picked example is still judged against its gold documents."""
    if len(query) <= POLICY.max_query_chars or find_example(domain, query) is not None:
        return query, ""
    query, note = POLICY.bounded_query(query)
    return query, f"\n\n**Note**: {note}"


# ------------------------------------------------------------------------------------------------ evaluate
def evaluate(files, corpus_files, name, hub_domains, limit, source, model, reasoning_file, max_new_tokens,
             scoring, session_ids, mode="replace", retriever="bm25", progress=gr.Progress()):
    """Run an evaluation, streaming progress; every finished domain's results stay shown and downloadable.

    Yields (status, summary table, bars, scatter, histogram, gained, lost, downloads, session ids, corpus list).
    The downloads are written to a folder of their own, deleted when the run ends (finished, failed or stopped):
    Gradio has copied every file it was given into its cache by then, and deletes those copies (DELETE_CACHE).
    """
    with tempfile.TemporaryDirectory(prefix="tsqr-evaluation-") as out_dir:
        yield from _evaluate(files, corpus_files, name, hub_domains, limit, source, model, reasoning_file,
                             max_new_tokens, scoring, session_ids, mode, retriever, progress, Path(out_dir))


def _evaluate(files, corpus_files, name, hub_domains, limit, source, model, reasoning_file, max_new_tokens,
              scoring, session_ids, mode, retriever, progress, out_dir: Path):

    use_file = source == REASONING_FILE
    uploads = [Path(f) for f in [*(files or []), *(corpus_files or []), *([reasoning_file] if use_file and
                                                                          reasoning_file else [])]]
    unchanged = (gr.skip(),) * 7
    try:
        data = DataChoice(tuple(Path(f) for f in files or []), tuple(Path(f) for f in corpus_files or []),
                          name or "", POLICY.check_hub_domains(hub_domains or []), int(limit or 0))
        if use_file and not reasoning_file:
            raise ValueError("no reasoning file uploaded: add one, or choose a model as the reasoning source")
        reasoning = ReasoningChoice(model="none" if use_file else POLICY.check_model(model),
                                    file=Path(reasoning_file) if use_file else None,
                                    settings=None if use_file else _settings(max_new_tokens))
        config = EvaluationConfig(scoring=scoring, composition=mode, retriever=checked_retriever(retriever))
        job = EvaluationJob(STORE, out_dir, config, reasoning, max_query_chars=POLICY.max_query_chars)
    except Exception as error:
        yield (_failure(error, uploads), *unchanged, session_ids, gr.skip())
        return
    # A new run clears the last one's results at once: nothing on the page belongs to another run. One progress
    # figure (the pipeline's, not also every tqdm bar beneath it: gr.Progress without track_tqdm).
    yield ("**starting**", None, None, None, None, "", "", None, session_ids, gr.skip())
    shown_reports, known_corpora = 0, 0
    for update in job.run(data):
        progress(update.fraction, desc=update.message)
        corpora = gr.skip()
        last = update.done or bool(update.error)  # API callers only see the last yield: it carries everything
        if len(update.corpus_ids) > known_corpora or (last and update.corpus_ids):
            known_corpora = len(update.corpus_ids)  # a loaded domain becomes searchable in the Search tab
            session_ids = list(dict.fromkeys([*session_ids, *update.corpus_ids]))
            corpora = corpus_dropdown(session_ids, update.corpus_ids[-1])
        results = unchanged
        if len(update.reports) > shown_reports or (last and update.reports):
            shown_reports = len(update.reports)
            gained, lost = biggest_changes(update.reports)
            results = (summary_table(update.reports), domain_bars(update.reports), query_scatter(update.reports),
                       delta_histogram(update.reports), changes_html(gained, "Gained most"),
                       changes_html(lost, "Lost most"), [str(path) for path in update.files])
        yield (_status(update), *results, session_ids, corpora)


def _status(update) -> str:
    lines = [error_markdown(update.error) if update.error else f"**{update.message}**"]
    if update.error and update.reports:
        lines.append(f"The results of the {len(update.reports)} finished domain(s) are kept below.")
    lines += [f"- {warning}" for warning in update.warnings]
    costs = format_costs(update.reports)
    if costs:
        lines += ["", "**Reasoning cost**"] + [f"- {line}" for line in costs.splitlines()]
    return "\n".join(lines)


def compare_systems(files, corpus_files, name, hub_domains, limit, models, reasoning_files, human, retrievers,
                    modes, test, alpha, max_new_tokens, scoring, session_ids):
    """Compare several systems on the chosen data, streaming progress; the tables, the frontier and the pair of
    systems for the per-query scatter follow every finished domain.

    Yields (status, tables, frontier, x system, y system, scatter, downloads, per-query scores, session ids,
    corpus list). Downloads live in a folder deleted when the run ends, as `evaluate`'s do.
    """
    with tempfile.TemporaryDirectory(prefix="tsqr-comparison-") as out_dir:
        yield from _compare_systems(files, corpus_files, name, hub_domains, limit, models, reasoning_files, human,
                                    retrievers, modes, test, alpha, max_new_tokens, scoring, session_ids,
                                    Path(out_dir))


def _compare_systems(files, corpus_files, name, hub_domains, limit, models, reasoning_files, human, retrievers,
                     modes, test, alpha, max_new_tokens, scoring, session_ids, out_dir: Path):
    uploads = [Path(f) for f in [*(files or []), *(corpus_files or []), *(reasoning_files or [])]]
    unchanged = (gr.skip(),) * 7
    try:
        data = DataChoice(tuple(Path(f) for f in files or []), tuple(Path(f) for f in corpus_files or []),
                          name or "", POLICY.check_hub_domains(hub_domains or []), int(limit or 0))
        choice = SystemsChoice(tuple(POLICY.check_model(m) for m in models or []),
                               tuple(Path(f) for f in reasoning_files or []), bool(human),
                               tuple(checked_retriever(r) for r in retrievers or ["bm25"]),
                               tuple(modes or ["replace"]), scoring, _settings(max_new_tokens), test,
                               float(0.05 if alpha is None else alpha))
        job = ComparisonJob(STORE, out_dir, choice, public=POLICY.public, max_query_chars=POLICY.max_query_chars)
    except Exception as error:
        yield (_failure(error, uploads), *unchanged, session_ids, gr.skip())
        return
    shown_domains = known_corpora = 0
    for update in job.run(data):
        corpora = gr.skip()
        last = update.done or bool(update.error)
        if len(update.corpus_ids) > known_corpora or (last and update.corpus_ids):
            known_corpora = len(update.corpus_ids)
            session_ids = list(dict.fromkeys([*session_ids, *update.corpus_ids]))
            corpora = corpus_dropdown(session_ids, update.corpus_ids[-1])
        results = unchanged
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


# ------------------------------------------------------------------------------------------------ interface
INTRO = """# tsqr: query reasoning for BM25
A small language model *reasons* about your question before BM25 searches (TongSearch QR, Qin et al. 2025,
[arXiv 2506.11603](https://arxiv.org/abs/2506.11603)). Compare what BM25 finds for the raw query and for the
reasoning, on the bundled demo corpus, your documents, or a BRIGHT domain loaded in the Evaluate tab."""
MODEL_HELP = ('"default" (embedded SmolLM2-135M, untrained), "none" (no reasoning), a Hugging Face id, a local '
              "checkpoint folder or .gguf, or the URL of an OpenAI-compatible server")


def _model_selector(elem_id: str) -> gr.Dropdown:
    """Any model typed in when local; in public mode only the host's (the handlers check it again)."""
    if POLICY.public:
        return gr.Dropdown(labelled_models(list(POLICY.models)), value=POLICY.models[0], label="Model",
                           info="the models this server offers", elem_id=elem_id)
    return gr.Dropdown(labelled_models(model_choices()), value=configured_model(), allow_custom_value=True,
                       label="Model", info=MODEL_HELP, elem_id=elem_id)


def _retrieval_options() -> tuple[gr.Radio, gr.Radio, gr.Radio]:
    """The scoring, what the retriever searches with, and the retriever, stacked in one column (both tabs offer
    the same choices)."""
    with gr.Column():
        retriever = gr.Radio(RETRIEVER_CHOICES, value="bm25", label="Retriever",
                             info="dense embeds the corpus once (then cached on disk)")
        scoring = gr.Radio(SCORING_CHOICES, value="bright", label="Scoring")
        mode = gr.Radio(COMPOSITION_CHOICES, value="replace", label="The retriever searches with",
                        info="query + reasoning keeps the query's own words (helps small untrained models)")
    # BM25's scoring means nothing to the dense retriever: shown only where BM25 ranks (bm25, hybrid).
    retriever.change(lambda kind: gr.update(visible=kind != "dense"), retriever, scoring, api_visibility="private")
    return scoring, mode, retriever


def _search_tab(session_ids: gr.State) -> gr.Dropdown:
    with gr.Row():
        corpus = gr.Dropdown(STORE.choices([]), value=DEMO_ID, label="Corpus", allow_custom_value=True, scale=1)
        examples = gr.Dropdown(example_choices(DEMO_ID), value=None, label="Example queries (with gold documents)",
                               scale=2, elem_id="examples")
    query = gr.Textbox(label="Query", lines=3, placeholder="Ask something a keyword search would miss...",
                       elem_id="query")
    looking = gr.Markdown(looking_at(POLICY.models[0] if POLICY.public else configured_model(), LIVE_SOURCE),
                          elem_id="looking-at")
    with gr.Row():
        source = gr.Dropdown(source_choices(), value=LIVE_SOURCE, label="Reasoning from", elem_id="source",
                             info="released reasonings show at once, for BRIGHT domains' queries")
        model = _model_selector("model")
    with gr.Row():
        max_tokens = gr.Slider(16, MAX_NEW_TOKENS, value=256, step=8, label="Max new tokens",
                               elem_id="search-max-tokens")
        k = gr.Slider(1, MAX_RESULTS, value=10, step=1, label="Results per column")
        scoring, mode, retriever = _retrieval_options()
    with gr.Row():
        run = gr.Button("Search", variant="primary", elem_id="search-button")
        stop = gr.Button("Stop", variant="stop")
    with gr.Accordion("Search your own documents", open=not DEMO_ID):
        gr.Markdown(DEMO_NOTE or "Files of documents with `id` and `content` (parquet, jsonl, json; gzip ok).")
        uploads = gr.File(file_count="multiple", file_types=[".parquet", ".jsonl", ".json", ".gz"], label="Documents")
        load = gr.Button("Load documents")
        load_status = gr.Markdown()
    reasoning = gr.Textbox(label="Reasoning (a released one at once; a live model's streams in as it writes)",
                           lines=6, interactive=False, elem_id="reasoning")
    info = gr.Markdown()
    moves = gr.Markdown()
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("### Raw query")
            raw_column = gr.HTML(elem_id="raw-results")
        with gr.Column():
            gr.Markdown("### Reasoned query")
            reasoned_column = gr.HTML(elem_id="reasoned-results")

    corpus.change(lambda chosen: gr.update(choices=example_choices(chosen), value=None), corpus, examples,
                  api_visibility="private")
    examples.select(lambda picked: picked, examples, query, api_visibility="private")
    load.click(load_documents, [uploads, session_ids], [load_status, session_ids, corpus], api_name="load_documents",
               concurrency_limit=UPLOAD_CONCURRENCY, concurrency_id="load_documents")
    gr.on([source.change, model.change], looking_at, [model, source], looking, api_visibility="private")
    source.change(lambda chosen: (gr.update(visible=chosen == LIVE_SOURCE),) * 2, source, [model, max_tokens],
                  api_visibility="private")
    searching = gr.on([run.click, query.submit], search,
                      [query, corpus, model, max_tokens, k, scoring, mode, retriever, source],
                      [reasoning, info, moves, raw_column, reasoned_column], api_name="search",
                      show_progress_on=reasoning, concurrency_limit=RAW_SEARCH_SLOTS + POLICY.max_model_queue,
                      concurrency_id="search")
    stop.click(stopped, reasoned_column, reasoned_column, cancels=[searching], api_visibility="private")
    return corpus


def _evaluate_tab(session_ids: gr.State, search_corpus: gr.Dropdown) -> None:

    hub_domains = POLICY.hub_domains if POLICY.public else list(BRIGHT_DOMAINS)
    gr.Markdown("Upload a BRIGHT subset (examples + documents as parquet/jsonl/json, a zip of the hub layout, or "
                "Anserini topics + qrels with the corpus below), or pick BRIGHT domains from the hub (online).")
    with gr.Row():
        files = gr.File(file_count="multiple", label="BRIGHT subset (queries and judgements, maybe documents)",
                        elem_id="evaluate-files")
        corpus_files = gr.File(file_count="multiple", label="Corpus, when the subset has none (Anserini)")
    with gr.Row():
        name = gr.Textbox(label="Domain name of the upload", placeholder="inferred from the file names")
        hub = gr.Dropdown(list(hub_domains), multiselect=True, label="BRIGHT domains from the hub",
                          interactive=bool(hub_domains), info=None if hub_domains else "not offered by this server")
        limit = gr.Number(0, precision=0, minimum=0, label="Only the first N queries (0 = all)")
    with gr.Row():
        source = gr.Radio([REASONING_MODEL, REASONING_FILE], value=REASONING_MODEL, label="Reasoning source")
        model = _model_selector("evaluate-model")
        max_tokens = gr.Slider(16, MAX_NEW_TOKENS, value=256, step=8, label="Max new tokens")
    with gr.Row():
        reasoning_file = gr.File(label="Precomputed reasonings: TongSearch JSON, BRIGHT <model>_reason, tsqr cache",
                                 elem_id="evaluate-reasoning-file")
        scoring, mode, retriever = _retrieval_options()
    with gr.Row():
        run = gr.Button("Evaluate", variant="primary", elem_id="evaluate-button")
        stop = gr.Button("Stop", variant="stop")
    gr.Markdown("Stopping keeps every finished reasoning in the cache: running again resumes where it stopped.")
    status = gr.Markdown(min_height=60, elem_id="evaluate-status")
    table = gr.Dataframe(headers=SUMMARY_HEADERS, label="Summary (x100)",
                         interactive=False, elem_id="evaluate-summary")
    with gr.Row(elem_id="evaluate-charts"):
        bars, scatter, histogram = gr.Plot(label="Per domain"), gr.Plot(label="Per query"), gr.Plot(label="Deltas")
    with gr.Row():
        gained, lost = gr.HTML(), gr.HTML()
    downloads = gr.File(label="Downloads: results.json, CSVs, TREC runs", file_count="multiple", interactive=False)

    running = run.click(evaluate, [files, corpus_files, name, hub, limit, source, model, reasoning_file, max_tokens,
                                   scoring, session_ids, mode, retriever],
                        [status, table, bars, scatter, histogram, gained, lost, downloads, session_ids,
                         search_corpus], api_name="evaluate", show_progress_on=status,
                        concurrency_limit=EVALUATION_CONCURRENCY, concurrency_id="evaluate")
    stop.click(None, cancels=[running])

    gr.Markdown("## Compare systems\nThe raw query, every model and reasoning file chosen here, under every "
                "retriever and composition, on the data above: one table per measure (systems by domains, "
                "↑/↓ where a system differs from the raw query with the first retriever by a paired test, "
                "Holm-corrected), the cost-quality frontier, and any two systems query by query.")
    with gr.Row():
        models = gr.Dropdown(list(POLICY.models) if POLICY.public else model_choices(), multiselect=True,
                             allow_custom_value=not POLICY.public, label="Models", elem_id="compare-models")
        reasoning_files = gr.File(file_count="multiple", label="Reasoning files (one system each)",
                                  elem_id="compare-reasoning-files")
        human = gr.Checkbox(label="the corpus's own reasoning field (human-written)", elem_id="compare-human")
    with gr.Row():
        retrievers = gr.CheckboxGroup(RETRIEVER_CHOICES, value=["bm25"], label="Retrievers",
                                      elem_id="compare-retrievers")
        modes = gr.CheckboxGroup(COMPOSITION_CHOICES, value=["replace"], label="Compositions")
        test = gr.Radio(list(TESTS), value="t", label="Paired test (t, Wilcoxon, none)")
        alpha = gr.Number(0.05, minimum=0.001, maximum=0.5, label="alpha")
    compare_button = gr.Button("Compare", variant="primary", elem_id="compare-button")
    compare_status = gr.Markdown(min_height=40, elem_id="compare-status")
    compare_table = gr.Markdown(elem_id="compare-table")
    with gr.Row():
        frontier = gr.Plot(label="Cost-quality frontier", elem_id="compare-frontier")
        with gr.Column():
            with gr.Row():
                x_system = gr.Dropdown([], label="x: system", elem_id="compare-x")
                y_system = gr.Dropdown([], label="y: system", elem_id="compare-y")
            pair = gr.Plot(label="Per query", elem_id="compare-scatter")
    compare_downloads = gr.File(label="Downloads: results.json, table.md, table.tex, table.csv, frontier.html",
                                file_count="multiple", interactive=False)
    scores = gr.State({})
    comparing = compare_button.click(
        compare_systems, [files, corpus_files, name, hub, limit, models, reasoning_files, human, retrievers, modes,
                          test, alpha, max_tokens, scoring, session_ids],
        [compare_status, compare_table, frontier, x_system, y_system, pair, compare_downloads, scores, session_ids,
         search_corpus], api_name="compare", show_progress_on=compare_status,
        concurrency_limit=EVALUATION_CONCURRENCY, concurrency_id="evaluate")
    for chooser in (x_system, y_system):
        chooser.change(systems_scatter, [scores, x_system, y_system], pair, api_name=False)
    stop.click(None, cancels=[comparing])


def _footer() -> str:
    mode = (f" Public mode: models {', '.join(POLICY.models)}; queries up to {POLICY.max_query_chars:,} characters."
            if POLICY.public else "")
    return (f"<small>Generation runs on {hardware()}. One search and one evaluation generate at a time (the others "
            f"wait in line, up to {POLICY.max_model_queue} searches); raw results never wait.{mode}</small>")


def build_demo() -> gr.Blocks:
    """The whole interface for the current POLICY (models and indexes load on first use)."""
    with gr.Blocks(title="tsqr: query reasoning for BM25", delete_cache=DELETE_CACHE) as app:
        gr.Markdown(INTRO)
        session_ids = gr.State([])
        with gr.Tab("Search"):
            search_corpus = _search_tab(session_ids)
        with gr.Tab("Evaluate"):
            _evaluate_tab(session_ids, search_corpus)
        footer = gr.Markdown()
        app.load(_footer, None, footer, api_visibility="private")
    return app


demo = build_demo()


def launch(**options):
    """Serve `demo` with the app's queue, upload limit, theme and CSS; `options` go to `Blocks.launch`. What
    earlier runs left in their Gradio cache folders is removed first, however they ended (tsqr.app.gradio_cache).

    The policy follows the address served: listening beyond loopback turns public mode on, and the interface is
    rebuilt to offer only the host's choices.
    """
    global POLICY, demo
    policy = host_policy(options.get("server_name") or os.environ.get("GRADIO_SERVER_NAME"))
    if policy != POLICY:
        POLICY = policy
        STORE.work, MODEL_LINE.capacity = POLICY.work_bounds, POLICY.max_model_queue
        demo = build_demo()
    removed = sweep_gradio_caches(GRADIO_CACHE)  # whatever ended earlier runs, their uploads and downloads go
    log.info("Gradio cache %s: %d entries left by earlier runs removed", GRADIO_CACHE, removed)
    if POLICY.public:
        POOL.pin(POLICY.models)
        log.info("public mode: models %s, hub domains %s", ", ".join(POLICY.models), ", ".join(POLICY.hub_domains))
    return demo.queue(max_size=64).launch(max_file_size=MAX_UPLOAD, css=CSS, theme=gr.themes.Soft(), **options)


if __name__ == "__main__":
    launch()
