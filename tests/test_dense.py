"""Dense retrieval on the offline all-MiniLM-L6-v2: scores equal to sentence-transformers' own cosine, exclusion
before the cut, deterministic ties, the on-disk embedding cache, and BRIGHT's instruction table."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tsqr.retrieval.models import resolve_model
from tsqr.records import Document
from tsqr.retrieval import DenseRetriever, Encoder, build_retriever, canonical_model, recipe_for
from tsqr.retrieval.store import embeddings_key

DOCUMENTS = [
    Document("cats/purr", "Cats purr by vibrating the muscles of the larynx while they breathe in and out."),
    Document("cats/whiskers", "A cat's whiskers are touch receptors that sense air currents and nearby objects."),
    Document("dogs/bark", "Dogs bark to warn their group, to ask for attention, or out of boredom."),
    Document("finance/rates", "Central banks raise interest rates to slow inflation and cool borrowing."),
    Document("finance/rates-copy", "Central banks raise interest rates to slow inflation and cool borrowing."),
    Document("plants/photosynthesis", "Leaves turn sunlight, water and carbon dioxide into sugar and oxygen."),
    Document("weather/rain", "Rain forms when water vapour condenses on dust into droplets heavy enough to fall."),
    Document("empty", ""),
]
QUERIES = ["why does my cat make a rumbling sound", "what do central banks do about inflation", "how plants eat"]


@pytest.fixture(scope="module")
def sentence_transformer():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model("default"), device="cpu")


def counting(encoder: Encoder) -> list[list[str]]:
    """Record every batch of texts the encoder's real model is asked to embed (the model still embeds them)."""
    calls: list[list[str]] = []
    real = encoder.model.encode

    def encode(texts, **kwargs):
        calls.append(list(texts))
        return real(texts, **kwargs)

    encoder.model.encode = encode
    return calls


@pytest.mark.slow
def test_scores_equal_sentence_transformers_cosine(tmp_path, sentence_transformer) -> None:
    from sentence_transformers.util import cos_sim

    retriever = DenseRetriever(DOCUMENTS, Encoder("default", device="cpu", batch_size=3), cache=tmp_path,
                               progress=False)
    documents = sentence_transformer.encode([d.content for d in DOCUMENTS])
    expected = cos_sim(sentence_transformer.encode(QUERIES), documents).numpy()
    assert np.allclose(retriever.scores_many(QUERIES), expected, atol=1e-5, rtol=0)
    for query, row in zip(QUERIES, expected):
        hits = retriever.search(query, k=len(DOCUMENTS))
        by_id = {hit.doc_id: hit.score for hit in hits}
        assert sorted(by_id) == sorted(d.id for d in DOCUMENTS)
        assert all(abs(by_id[d.id] - row[i]) <= 1e-5 for i, d in enumerate(DOCUMENTS))
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert retriever.search(QUERIES[0], k=1)[0].doc_id == "cats/purr"
    assert retriever.search(QUERIES[2], k=1)[0].doc_id == "plants/photosynthesis"
    assert np.allclose(np.linalg.norm(retriever.embeddings, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_excluded_ids_go_before_the_cut_and_ties_keep_corpus_order(tmp_path) -> None:
    retriever = DenseRetriever(DOCUMENTS, "default", cache=tmp_path, progress=False)
    query = QUERIES[1]
    full = retriever.search(query, k=len(DOCUMENTS))
    assert [h.doc_id for h in full[:2]] == ["finance/rates", "finance/rates-copy"]  # equal scores: corpus order
    assert full[0].score == full[1].score
    top3 = retriever.search(query, k=3, exclude=["finance/rates", "not-a-document"])
    assert [h.doc_id for h in top3] == [h.doc_id for h in full if h.doc_id != "finance/rates"][:3]
    assert len(retriever.search(query, k=100, exclude="finance/rates")) == len(DOCUMENTS) - 1
    everything = [d.id for d in DOCUMENTS]
    assert retriever.search(query, k=5, exclude=everything) == []
    runs = retriever.search_many(QUERIES, k=2, excludes=[["cats/purr"], [], ["plants/photosynthesis"]],
                                 progress=False)
    assert "cats/purr" not in [h.doc_id for h in runs[0]] and len(runs[0]) == 2
    # The same query encoded in a batch of three, not alone: same ranking, scores equal to float32 rounding.
    assert [h.doc_id for h in runs[1]] == [h.doc_id for h in full[:2]]
    assert [h.score for h in runs[1]] == pytest.approx([h.score for h in full[:2]], abs=1e-5)
    assert "plants/photosynthesis" not in [h.doc_id for h in runs[2]]


@pytest.mark.slow
def test_second_run_reads_the_cache_and_encodes_no_document(tmp_path) -> None:
    first_encoder = Encoder("default", device="cpu")
    first_calls = counting(first_encoder)
    first = DenseRetriever(DOCUMENTS, first_encoder, cache=tmp_path, progress=False)
    assert sum(len(batch) for batch in first_calls) == len(DOCUMENTS) and first.loaded_from is None
    folder = tmp_path / embeddings_key(DOCUMENTS, first_encoder.spec)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["n_docs"] == len(DOCUMENTS) and meta["model"] == "sentence-transformers/all-MiniLM-L6-v2"

    second_encoder = Encoder("default", device="cpu")
    second_calls = counting(second_encoder)
    second = DenseRetriever(DOCUMENTS, second_encoder, cache=tmp_path, progress=False)
    assert second_calls == [] and second.loaded_from == folder
    assert np.array_equal(second.embeddings, first.embeddings)
    second.search(QUERIES[0], k=3)
    assert second_calls == [[QUERIES[0]]]  # searching encodes the query, nothing else

    changed = DOCUMENTS[:-1] + [Document("empty", "No longer empty.")]
    DenseRetriever(changed, second_encoder, cache=tmp_path, progress=False)
    assert second_calls[-1] and sum(len(batch) for batch in second_calls[1:]) == len(changed)


@pytest.mark.slow
def test_an_unreadable_cache_entry_is_re_encoded_with_a_warning(tmp_path) -> None:
    encoder = Encoder("default", device="cpu")
    DenseRetriever(DOCUMENTS, encoder, cache=tmp_path, progress=False)
    folder = tmp_path / embeddings_key(DOCUMENTS, encoder.spec)
    np.save(folder / "embeddings.npy", np.zeros((3, 4), dtype=np.float32))
    calls = counting(encoder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        retriever = DenseRetriever(DOCUMENTS, encoder, cache=tmp_path, progress=False)
    assert any("embeddings.npy" in str(w.message) and "shape (3, 4)" in str(w.message) for w in caught)
    assert calls and retriever.embeddings.shape[0] == len(DOCUMENTS) and retriever.loaded_from is None
    assert DenseRetriever(DOCUMENTS, encoder, cache=tmp_path, progress=False).loaded_from == folder


@pytest.mark.slow
def test_the_query_instruction_goes_before_the_query(tmp_path, sentence_transformer) -> None:
    encoder = Encoder("default", device="cpu")
    encoder.query_instruction = "Represent this sentence for searching relevant passages: "
    got = encoder.encode_queries(["why do cats purr"])
    want = sentence_transformer.encode([encoder.query_instruction + "why do cats purr"], normalize_embeddings=True)
    assert np.allclose(got, want, atol=1e-6)
    assert not np.allclose(got, sentence_transformer.encode(["why do cats purr"], normalize_embeddings=True),
                           atol=1e-3)


@pytest.mark.slow
def test_build_retriever_makes_a_dense_retriever(tmp_path) -> None:
    retriever = build_retriever("dense", DOCUMENTS, cache=tmp_path, progress=False)
    assert isinstance(retriever, DenseRetriever) and retriever.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert retriever.search(QUERIES[0], k=1)[0].doc_id == "cats/purr"


def test_bad_inputs_are_refused_with_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="empty corpus"):
        DenseRetriever([], cache=tmp_path)
    with pytest.raises(ValueError, match="duplicate document id 'a' at positions 0 and 1"):
        DenseRetriever([Document("a", "x"), Document("a", "y")], cache=tmp_path)
    with pytest.raises(TypeError, match=r"documents\[0\]"):
        DenseRetriever(["just text"], cache=tmp_path)
    with pytest.raises(ValueError, match="batch_size"):
        Encoder(batch_size=0)
    with pytest.raises(ValueError, match="empty embedding model name"):
        Encoder("  ")


@pytest.mark.slow
def test_search_arguments_are_checked(tmp_path) -> None:
    retriever = DenseRetriever(DOCUMENTS[:3], "default", cache=tmp_path, progress=False)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        retriever.search("x", k=0)
    with pytest.raises(ValueError, match="2 texts but 1 exclusion lists"):
        retriever.search_many(["a", "b"], excludes=[[]])
    with pytest.raises(TypeError, match="sequence of texts"):
        retriever.search_many("a single string")


def test_the_table_holds_brights_instructions_per_domain() -> None:
    bge = recipe_for("bge")
    assert bge.hub_id == "BAAI/bge-large-en-v1.5" and recipe_for("baai/BGE-large-en-v1.5") == bge
    assert bge.query_instruction("biology") == "Represent this biology post for searching relevant passages: "
    assert bge.query_instruction("earth_science", long=True) == \
        "Represent this earth_science post for searching relevant documents: "
    assert bge.query_instruction("leetcode") == "Represent this Coding problem for searching relevant examples: "
    assert bge.query_instruction("leetcode", long=True) == bge.query_instruction("leetcode")
    assert bge.query_instruction("theoremqa_theorems") == \
        "Represent this Math problem for searching relevant theorems: "
    assert bge.query_instruction("demo") == "Represent this sentence for searching relevant passages: "
    assert bge.document_instruction("biology") == ""

    instructor = recipe_for("inst-l")
    assert instructor.hub_id == "hkunlp/instructor-large" and not instructor.pool_prompt
    assert instructor.max_length == 2048
    assert instructor.query_instruction("pony") == "Represent the Pony question for retrieving relevant paragraphs: "
    assert instructor.document_instruction("psychology", long=True) == \
        "Represent the psychology document for retrieval: "

    e5 = recipe_for("e5")
    assert e5.query_instruction("pony") == \
        "Instruct: Given a pony question, retrieve relevant passages that help answer the question\nQuery: "
    assert recipe_for("qwen2").trust_remote_code and recipe_for("qwen2").max_length == 8192
    assert recipe_for("intfloat/e5-base-v2").query_instruction("biology") == "query: "
    assert recipe_for("intfloat/e5-base-v2").document_instruction("biology") == "passage: "
    assert recipe_for("sbert").query_instruction("biology") == ""

    unknown = recipe_for("my-org/my-embedder")
    assert unknown.hub_id == "my-org/my-embedder" and unknown.query_instruction("biology") == ""
    assert canonical_model("default") == canonical_model("all-MiniLM-L6-v2") == \
        "sentence-transformers/all-MiniLM-L6-v2"
    assert canonical_model("BGE") == canonical_model(" bge ") == "BAAI/bge-large-en-v1.5"
    assert canonical_model("/models/my-embedder") == "/models/my-embedder"


def test_the_embedding_cache_is_pruned_least_recently_used_first(tmp_path, monkeypatch) -> None:
    """The embeddings cache was never pruned; each write now prunes its folder to TSQR_EMBEDDING_CACHE_MB with
    the BM25 index cache's mechanism (tsqr.paths.prune_cache), and reading an entry counts as a use."""
    import os

    from tsqr.retrieval.store import EmbeddingSpec, read_embeddings, write_embeddings

    spec = EmbeddingSpec("m", "m-identity", "", None, False)
    matrix = np.ones((len(DOCUMENTS), 64), dtype=np.float32)
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    for number, folder in enumerate([first, second]):
        write_embeddings(folder, matrix, spec)
        os.utime(folder, (1_000_000 + number, 1_000_000 + number))
        size = sum(path.stat().st_size for path in folder.iterdir())
        monkeypatch.setenv("TSQR_EMBEDDING_CACHE_MB", str(2.5 * size / (1 << 20)))  # room for two entries
    assert np.array_equal(read_embeddings(first, len(DOCUMENTS), spec), matrix)  # "first" is now the newest
    write_embeddings(third, matrix, spec)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["first", "third"]


REASON_EMBED_BIOLOGY = "Instruct: Given a Biology post, retrieve relevant passages that help answer the post.\nQuery: "
WEB_SEARCH = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"


def test_the_table_holds_the_reasoning_embedders_published_instructions() -> None:
    for name in ("hanhainebula/reason-embed-qwen3-8b-0928", "BAAI/bge-reasoner-embed-qwen3-8b-0923"):
        recipe = recipe_for(name)
        assert recipe.query_instruction("biology") == REASON_EMBED_BIOLOGY and recipe.max_length == 8192
        assert recipe.query_instruction("biology", long=True) == REASON_EMBED_BIOLOGY.replace("passages", "documents")
        assert recipe.query_instruction("earth_science").startswith("Instruct: Given an Earth Science post,")
        assert recipe.query_instruction("theoremqa_theorems") == \
            "Instruct: Given a Math problem, retrieve relevant theorems that help answer the problem.\nQuery: "
        assert recipe.query_instruction("pony", long=True) == \
            "Instruct: Given a Pony question, retrieve relevant documents that help answer the question\nQuery: "
        assert recipe.query_instruction("aops", long=True) == recipe.query_instruction("aops")
        assert recipe.query_instruction("demo") == "" and recipe.document_instruction("biology") == ""

    qwen3 = recipe_for("Qwen/Qwen3-Embedding-8B")
    assert qwen3.query_instruction("biology") == qwen3.query_instruction("demo") == WEB_SEARCH
    inf = recipe_for("infly/inf-retriever-v1-pro")
    assert inf.query_instruction("leetcode", long=True) == WEB_SEARCH + " " and inf.trust_remote_code
    assert recipe_for("infly/inf-retriever-v1").max_length == 8192

    reasonir = recipe_for("ReasonIR/ReasonIR-8B")  # the hub spells it reasonir/ReasonIR-8B; case does not matter
    assert reasonir.hub_id == "reasonir/ReasonIR-8B" and not reasonir.pool_prompt and reasonir.trust_remote_code
    assert reasonir.query_instruction("biology") == reasonir.document_instruction("biology") == ""


def test_a_family_prefix_covers_the_sizes_its_card_describes() -> None:
    small = recipe_for("qwen/qwen3-embedding-0.6b")  # exact entry, any case
    assert small.hub_id == "Qwen/Qwen3-Embedding-0.6B" and small.style == "qwen3"
    future = recipe_for("Qwen/Qwen3-Embedding-2B")  # not in the table: its family's recipe, under its own name
    assert future.hub_id == "Qwen/Qwen3-Embedding-2B" and future.query_instruction("pony") == WEB_SEARCH
    assert recipe_for("hanhainebula/reason-embed-qwen3-1.7b-0928").query_instruction("biology") == \
        REASON_EMBED_BIOLOGY
    assert recipe_for("hanhainebula/reason-embed-basic-qwen3-4b-0928").max_length == 8192
    for outsider in ("Qwen/Qwen3-8B", "hanhainebula/reason-embed-annotator-qwen3-8b-0928", "/models/Qwen3-Embedding-8B"):
        assert recipe_for(outsider).query_instruction("biology") == "", outsider


def test_an_explicit_query_instruction_replaces_the_tables() -> None:
    assert Encoder("default", query_instruction="Find: ").query_instruction == "Find: "
    assert Encoder("default", query_instruction="").query_instruction == ""
    assert Encoder("bge", domain="biology").query_instruction.startswith("Represent this biology post")
    assert Encoder("bge", domain="biology", query_instruction="").query_instruction == ""


@pytest.mark.slow
def test_build_retriever_puts_the_given_instruction_before_each_query(tmp_path, sentence_transformer) -> None:
    retriever = build_retriever("dense", DOCUMENTS, cache=tmp_path, progress=False, query_instruction="Find: ")
    got = retriever.encoder.encode_queries(["why do cats purr"])
    want = sentence_transformer.encode(["Find: why do cats purr"], normalize_embeddings=True)
    assert np.allclose(got, want, atol=1e-6)
