"""The app's logic, kept out of app.py so it can be tested without a browser: app.py lays out and wires.

Modules: `models` (the pool of loaded reasoners, GPU placement), `corpora` (corpora shared by all sessions and
their BM25 indexes), `search` (the Search tab: raw and reasoned results side by side), `evaluation` (the Evaluate
tab's job), `charts` (tables and plotly figures), `render` and `highlight` (HTML for results).
"""
