"""tsqr's "bright" BM25 against gensim used the BRIGHT way, on real BRIGHT text with real TongSearch queries.

BRIGHT's document corpora are not in ../shared/data, so the corpus here is real StackExchange-style text that is:
the `gold_answer` and `reasoning` fields of BRIGHT's examples in five domains. The queries are
TongSearch-QR-7B's reasonings (hundreds of words each), the kind of query this engine exists for.
"""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import require_reference

from tsqr.bm25 import Index
from tsqr.records import Document

DOMAINS = ("biology", "earth-science", "economics", "psychology", "stackoverflow")


@pytest.fixture(scope="module")
def real_text(shared_data):
    documents, queries = [], []
    reasonings = json.loads((shared_data / "tongsearch" / "TongSearch-QR-7B_reasoned_BRIGHT_queries.json")
                            .read_text(encoding="utf-8"))
    for domain in DOMAINS:
        path = shared_data / "bright" / "anserini-tools" / "topics" / f"topics.bright-{domain}-original.jsonl.gz"
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for row in map(json.loads, handle):
                documents.append(Document(f"{domain}/{row['id']}/answer", row["gold_answer"]))
                documents.append(Document(f"{domain}/{row['id']}/reasoning", row["reasoning"]))
                if domain == "biology" and row["query"] in reasonings:
                    queries.append((f"{domain}/{row['id']}", reasonings[row["query"]]))
    return documents, queries[:60]


def test_bright_scoring_matches_gensim_on_real_text_and_reasoned_queries(real_text):
    require_reference("gensim", "gensim, the reference for BRIGHT's BM25 (pip install gensim)")
    from gensim.corpora import Dictionary
    from gensim.models import LuceneBM25Model
    from gensim.similarities import SparseMatrixSimilarity

    documents, queries = real_text
    index = Index.build(documents, progress=False)
    token_lists = index.analyzer.analyze_many([doc.content for doc in documents])
    dictionary = Dictionary(token_lists)
    model = LuceneBM25Model(dictionary=dictionary, k1=0.9, b=0.4)
    similarity = SparseMatrixSimilarity(model[list(map(dictionary.doc2bow, token_lists))], num_docs=len(documents),
                                        num_terms=len(dictionary), normalize_queries=False, normalize_documents=False)
    doc_ids = [doc.id for doc in documents]
    assert len(queries) >= 50
    for query_id, text in queries:
        expected = similarity[model[dictionary.doc2bow(index.analyzer(text))]]
        np.testing.assert_allclose(index.scores(text), expected, rtol=1e-5, atol=0, err_msg=query_id)
        own_answer = f"{query_id}/answer"  # BRIGHT-style exclusion of one id
        ranked = sorted(((d, s) for d, s in zip(doc_ids, expected.tolist()) if d != own_answer),
                        key=lambda item: item[1], reverse=True)[:1000]
        hits = index.search(text, k=1000, exclude=[own_answer])
        assert [(h.doc_id, h.score) for h in hits] == ranked, query_id
