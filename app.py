"""tsqr's Gradio app: watch a small LLM reason about a query, and see what that does to BM25 (TongSearch QR).

Usage:
    python app.py                          # http://127.0.0.1:7860 ($GRADIO_SERVER_NAME / _PORT to change)
    TSQR_MODEL=TongSearch/TongSearch-QR-1.5B python app.py
    TSQR_PUBLIC=1 TSQR_MODELS=default,none python app.py    # public mode (see tsqr/app/public.py)

Search tab: one query, its reasoning streamed as it is written, BM25's top documents for the raw and for the
reasoned query side by side (gold documents marked for dataset queries). Evaluate tab: a whole BRIGHT subset,
raw vs reasoned, with charts and downloads. This file is only the interface (layout and event wiring): the
handlers are tsqr.app.search_events, tsqr.app.evaluation_events and tsqr.app.host, and loading, searching,
reasoning and scoring are tsqr's, so the app and the CLI cannot disagree. A bad TSQR_* variable stops
`python app.py` with one line naming it (and `launch` with a ConfigurationError), before anything is served.
Importing it builds the interface but loads no model and no index; both load on first use and are shared.
Hosted in public (a Space, TSQR_PUBLIC=1, or any address beyond loopback) every handler checks its inputs
against the host's policy (tsqr.app.public): a visitor's API call can send any string, not only what the page offers.
"""
from __future__ import annotations

import logging
import os

import gradio as gr

from tsqr.app.charts import SUMMARY_HEADERS, systems_scatter
from tsqr.app.choices import (
    COMPOSITION_CHOICES,
    LIVE_SOURCE,
    RETRIEVER_CHOICES,
    SCORING_CHOICES,
    labelled_models,
    looking_at,
    source_choices,
)
from tsqr.app.evaluation_events import REASONING_FILE, REASONING_MODEL, EvaluationEvents
from tsqr.app.gradio_cache import own_gradio_cache, sweep_gradio_caches
from tsqr.app.host import Host, checked_policy, exit_on_bad_environment
from tsqr.app.models import POOL, configured_model, model_choices, on_gpu, stream_reasoning
from tsqr.app.render import CSS
from tsqr.app.search_events import SearchEvents
from tsqr.bright import BRIGHT_DOMAINS
from tsqr.compare import TESTS

log = logging.getLogger("tsqr.app")

MAX_UPLOAD = "200mb"
# Uploads and downloads (Gradio's cache) are deleted an hour after they were made, checked every 10 minutes.
DELETE_CACHE = (600, 3600)
# Searches run side by side, so raw BM25 results never wait behind someone's generation; generation itself takes
# turns (one search and one evaluation at a time: tsqr.app.models.SEARCH_TURNS, EVALUATION_TURNS), so several
# users wait in line, their place shown, instead of exhausting memory. The search event has RAW_SEARCH_SLOTS slots
# more than the searches the model line admits (the host's model line, $TSQR_MAX_MODEL_QUEUE), so searches waiting
# for the model never take the slots raw results need; one more is told at once to try again. Uploads are indexed
# in a worker process (tsqr.app.worker) while their event waits. Beyond these, Gradio's queue holds events.
RAW_SEARCH_SLOTS, EVALUATION_CONCURRENCY, UPLOAD_CONCURRENCY = 8, 3, 2
MAX_NEW_TOKENS, MAX_RESULTS = 1024, 50  # the sliders' ends (Gradio refuses values beyond them, API calls too)

if __name__ == "__main__":  # `python app.py`: a bad variable is one line and exit code 2, before anything is built
    exit_on_bad_environment(os.environ.get("GRADIO_SERVER_NAME"))
GRADIO_CACHE = own_gradio_cache()  # before any interface is built: Gradio reads $GRADIO_TEMP_DIR then
HOST = Host.start(checked_policy(os.environ.get("GRADIO_SERVER_NAME")))  # launch() rechecks its server_name
STORE, DEMO_ID, DEMO_NOTE = HOST.store, HOST.demo_id, HOST.demo_note
SEARCH, EVALUATION = SearchEvents(HOST, stream=on_gpu(stream_reasoning)), EvaluationEvents(HOST)
# The handlers by their own names, as the interface wires them (and as tests and scripts call them).
search, stopped, load_documents = SEARCH.search, SEARCH.stopped, HOST.load_documents
evaluate, compare_systems = EVALUATION.evaluate, EVALUATION.compare_systems


# ------------------------------------------------------------------------------------------------ interface
INTRO = """# tsqr: query reasoning for BM25
A small language model *reasons* about your question before BM25 searches (TongSearch QR, Qin et al. 2025,
[arXiv 2506.11603](https://arxiv.org/abs/2506.11603)). Compare what BM25 finds for the raw query and for the
reasoning, on the bundled demo corpus, your documents, or a BRIGHT domain loaded in the Evaluate tab."""
MODEL_HELP = ('"default" (embedded SmolLM2-135M, untrained), "none" (no reasoning), a Hugging Face id, a local '
              "checkpoint folder or .gguf, or the URL of an OpenAI-compatible server")


def _model_selector(elem_id: str) -> gr.Dropdown:
    """Any model typed in when local; in public mode only the host's (the handlers check it again)."""
    if HOST.policy.public:
        return gr.Dropdown(labelled_models(list(HOST.policy.models)), value=HOST.policy.models[0], label="Model",
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
        examples = gr.Dropdown(HOST.example_choices(DEMO_ID), value=None, scale=2, elem_id="examples",
                               label="Example queries (with gold documents)")
    query = gr.Textbox(label="Query", lines=3, placeholder="Ask something a keyword search would miss...",
                       elem_id="query")
    shown_model = HOST.policy.models[0] if HOST.policy.public else configured_model()
    looking = gr.Markdown(looking_at(shown_model, LIVE_SOURCE), elem_id="looking-at")
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

    corpus.change(lambda chosen: gr.update(choices=HOST.example_choices(chosen), value=None), corpus, examples,
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
                      show_progress_on=reasoning, concurrency_limit=RAW_SEARCH_SLOTS + HOST.policy.max_model_queue,
                      concurrency_id="search")
    stop.click(stopped, reasoned_column, reasoned_column, cancels=[searching], api_visibility="private")
    return corpus


def _evaluate_tab(session_ids: gr.State, search_corpus: gr.Dropdown) -> None:

    hub_domains = HOST.policy.hub_domains if HOST.policy.public else list(BRIGHT_DOMAINS)
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
        models = gr.Dropdown(list(HOST.policy.models) if HOST.policy.public else model_choices(), multiselect=True,
                             allow_custom_value=not HOST.policy.public, label="Models", elem_id="compare-models")
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


def build_demo() -> gr.Blocks:
    """The whole interface for the host's policy in force (models and indexes load on first use)."""
    with gr.Blocks(title="tsqr: query reasoning for BM25", delete_cache=DELETE_CACHE) as app:
        gr.Markdown(INTRO)
        session_ids = gr.State([])
        with gr.Tab("Search"):
            search_corpus = _search_tab(session_ids)
        with gr.Tab("Evaluate"):
            _evaluate_tab(session_ids, search_corpus)
        footer = gr.Markdown()
        app.load(HOST.footer, None, footer, api_visibility="private")
    return app


demo = build_demo()


def launch(**options):
    """Serve `demo` with the app's queue, upload limit, theme and CSS; `options` go to `Blocks.launch`. Every
    variable the app reads is checked first (tsqr.app.host.checked_policy: ConfigurationError naming a bad one),
    then what earlier runs left in their Gradio cache folders is removed, however they ended
    (tsqr.app.gradio_cache).

    The policy follows the address served: listening beyond loopback turns public mode on, and the interface is
    rebuilt to offer only the host's choices.
    """
    global demo
    if HOST.follow(checked_policy(options.get("server_name") or os.environ.get("GRADIO_SERVER_NAME"))):
        demo = build_demo()
    removed = sweep_gradio_caches(GRADIO_CACHE)  # whatever ended earlier runs, their uploads and downloads go
    log.info("Gradio cache %s: %d entries left by earlier runs removed", GRADIO_CACHE, removed)
    policy = HOST.policy
    if policy.public:
        POOL.pin(policy.models)
        log.info("public mode: models %s, hub domains %s", ", ".join(policy.models), ", ".join(policy.hub_domains))
    return demo.queue(max_size=64).launch(max_file_size=MAX_UPLOAD, css=CSS, theme=gr.themes.Soft(), **options)


if __name__ == "__main__":
    launch()
