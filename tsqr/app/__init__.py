"""The app's logic, kept out of app.py so it can be tested without a browser: app.py lays out and wires.

Modules: `models` (the pool of loaded reasoners, GPU placement), `turns` (turns at the model and the bounded line
of searches waiting for it), `corpora` (corpora shared by all sessions and their BM25 indexes), `worker` (a
visitor's indexing and embedding in a child process, under a time budget), `search` (the Search tab: raw and
reasoned results side by side), `evaluation` (the Evaluate tab's job), `public` (what a public app offers and
bounds), `gradio_cache` (the app's own Gradio folder, swept at start-up), `choices` (the radios' choices),
`charts` (tables and plotly figures), `render` and `highlight` (HTML for results). The handlers app.py wires:
`host` (the policy in force, the corpora and the model line; corpus lists and document uploads; the start-up
check of every variable), `search_events` (search, stop) and `evaluation_events` (evaluate, compare systems).
"""
