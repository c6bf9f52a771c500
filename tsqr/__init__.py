"""tsqr: reason about a query with a small RL-trained model before BM25 sees it (TongSearch QR), then measure it.

The package is split so that each module reads alone: `records` (shapes), `bright` (data), `analysis` and
`bm25` (sparse retrieval), `metrics` and `trec` (scoring), `reasoner/` (models), `reward` (RL signal),
`evaluate` (the runner the CLI and the app share). Nothing heavy is imported here.
"""

__version__ = "0.1.0"
