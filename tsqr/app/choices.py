"""The app's words for tsqr's choice lists. The lists themselves are owned where they mean something
(tsqr.bm25.SCORINGS, tsqr.composition.COMPOSITIONS); this only labels them, so a new choice there shows up here
(and a missing label fails at import, not in front of a user)."""
from __future__ import annotations

from tsqr.bm25 import SCORINGS
from tsqr.composition import COMPOSITIONS
from tsqr.retrieval import RETRIEVER_KINDS

SCORING_LABELS = {"bright": "BRIGHT BM25 (official)", "classic": "classic Lucene BM25",
                  "rank_bm25": "rank_bm25's BM25Okapi (slow on large corpora)"}
# The app offers each kind with its offline default model (all-MiniLM-L6-v2): a visitor never makes the server
# download another; the CLI takes any model (dense:MODEL).
RETRIEVER_LABELS = {"bm25": "BM25", "dense": "dense (all-MiniLM-L6-v2)", "hybrid": "hybrid: BM25 + dense, RRF"}
COMPOSITION_LABELS = {"replace": "the reasoning alone (the paper)", "concat": "query + reasoning (query2doc)",
                      "fuse": "raw and reasoning runs fused (RRF)"}


def _labelled(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    missing = [value for value in values if value not in labels]
    if missing:
        raise KeyError(f"no label for {', '.join(missing)}")
    return [(labels[value], value) for value in values]


SCORING_CHOICES = _labelled(SCORINGS, SCORING_LABELS)
COMPOSITION_CHOICES = _labelled(COMPOSITIONS, COMPOSITION_LABELS)
RETRIEVER_CHOICES = _labelled(RETRIEVER_KINDS, RETRIEVER_LABELS)


def checked_retriever(value: str) -> str:
    """The retriever a visitor chose, refused on the server unless it is one the app offers."""
    if value not in RETRIEVER_KINDS:
        raise ValueError(f"unknown retriever {value!r}: choose one of {', '.join(RETRIEVER_KINDS)}")
    return value


# What a visitor should know about a model before reading its reasoning: "default" is a placeholder, not the method.
MODEL_LABELS = {"default": "SmolLM2-135M, untrained (offline placeholder)",
                "none": "none (search with the query itself)",
                "TongSearch/TongSearch-QR-1.5B": "TongSearch-QR-1.5B, trained (hub download, GPU advised)",
                "TongSearch/TongSearch-QR-7B": "TongSearch-QR-7B, trained (hub download, GPU advised)"}
LIVE_SOURCE = "live"  # the reasoning source "the model chosen below, generating now"


def model_label(spec: str) -> str:
    """How the app names a model spec: its label when it has one, else the spec as typed."""
    return MODEL_LABELS.get(spec.strip(), spec.strip())


def labelled_models(specs: list[str]) -> list[tuple[str, str]]:
    """(label, spec) pairs for a model dropdown."""
    return [(model_label(spec), spec) for spec in specs]


def source_choices() -> list[tuple[str, str]]:
    """The Search tab's reasoning sources: the live model, then every released set (tsqr.released.RELEASED)."""
    from tsqr.released import RELEASED

    return [("the model below, generating now", LIVE_SOURCE)] + [(r.label, r.name) for r in RELEASED.values()]


def checked_source(value: str) -> str:
    """The reasoning source a visitor chose, refused on the server unless the app offers it."""
    offered = [name for _, name in source_choices()]
    if value not in offered:
        raise ValueError(f"unknown reasoning source {value!r}: choose one of {', '.join(offered)}")
    return value


def looking_at(model: str, source: str) -> str:
    """One line for the top of the Search tab: whose reasoning the visitor is looking at, trained or not."""
    if source != LIVE_SOURCE:
        from tsqr.released import RELEASED

        released = RELEASED.get(source)
        if released is not None:
            return (f"**You are looking at** {released.label}: released for every BRIGHT query and shown at once, "
                    "without generating. Pick a BRIGHT domain (load one in the Evaluate tab) and one of its queries.")
    spec = (model or "").strip()
    if spec == "none":
        return "**You are looking at** no reasoning: both columns search with the query itself."
    if spec == "default":
        return (f"**You are looking at** reasonings written now by {MODEL_LABELS['default']}: it is not TongSearch "
                "QR and often makes retrieval worse. For a trained model's reasonings, choose *TongSearch-QR-7B* "
                "under *Reasoning from* on a BRIGHT domain.")
    trained = " (trained)" if spec in MODEL_LABELS and "trained" in MODEL_LABELS[spec] else ""
    return f"**You are looking at** reasonings written now by `{spec}`{trained}."
