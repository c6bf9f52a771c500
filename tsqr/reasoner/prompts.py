"""Named prompt templates for query reasoning.

Templates live here, by name, so that every backend, the trainer and the cache agree on the exact words a model
saw: the cache key holds the template's name *and* a hash of its text, so editing a template never serves stale
reasonings.

`tongsearch` is TongSearch QR's prompt word for word. Its evaluation code (scripts/evaluation/vllm_model.py in
bigai-nlco/TongSearch-QR) sends an explicit *empty* system turn before it, which changes what the chat template
renders (Qwen2.5 and SmolLM2 otherwise insert their own default system prompt), so the template keeps `system=""`.
`bright` is the reasoning prompt BRIGHT's authors used with GPT-4 (query first, then the same instructions);
`query2doc` and `hyde` are the pseudo-document prompts of Wang et al. 2023 and Gao et al. 2022, in their
zero-shot form, for comparison.

The RL-trained rewriters on BRIGHT's leaderboard, where their prompt is published:

- `inf-x`: INF-X-Retriever's query aligner (infly/inf-query-aligner, a Qwen2.5-7B-Instruct tuned by RL), word
  for word from `INFRewrite.prompt_build` in rewrite_queries.py of https://github.com/yaoyichen/INF-X-Retriever
  (read at commit 1db47ffa875fc8dc5b0fb2ba4b0ce67b20fc5a1c). Its system turn is Qwen2.5's default one, sent
  explicitly; the missing space in "instructions.The response" is theirs, kept as their model saw it.
  Their script generates up to 512 new tokens and searches with the rewrite alone (`--mode replace`).

Not here, because the text could not be read at its source: BGE-Reasoner-Rewriter
(cfli/reasoner-rewriter-qwen2.5-7b-0821), whose model card fills a `{task}` slot from a per-domain task map
that was not available to copy whole; DIVER's iterative query expansion (github.com/AQ-MedAI/Diver, QExpand/),
whose prompt files were not readable. With its text at hand, either runs through `--template FILE` (one
file per BGE-Reasoner task text).

A template file (`--template FILE`, `load_template_file`) is a UTF-8 text file holding the user turn exactly
(its final newline included), with `{query}` where the query goes; no system turn is sent. Any other
`{name}` in it is refused, since it would reach the model as literal braces. Its name is `custom-` and the
first 8 hex digits of its fingerprint, so the cache key follows the words, never the file's name or place.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

TONGSEARCH_INSTRUCTIONS = (
    "Instructions:\n"
    "1. Identify the essential problem.\n"
    "2. Think step by step to reason and describe what information could be relevant and helpful to address the "
    "questions in detail.\n"
    "3. Draft an answer with as many thoughts as you have.\n"
)


@dataclass(frozen=True)
class PromptTemplate:
    """A named prompt: the user turn (with a `{query}` slot) and the system turn.

    `system=None` sends no system turn (the model's chat template may add its own default); `system=""` sends an
    explicitly empty one, as TongSearch QR does.
    """

    name: str
    user: str
    system: str | None = None
    description: str = ""

    def messages(self, query: str) -> list[dict[str, str]]:
        """The chat messages for one query, ready for a chat template or an OpenAI-style server."""
        turns = [] if self.system is None else [{"role": "system", "content": self.system}]
        turns.append({"role": "user", "content": self.user.replace("{query}", query)})
        return turns

    @property
    def fingerprint(self) -> str:
        """A short hash of the exact words, part of every cache key."""
        text = f"{self.system!r}\x00{self.user}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


TEMPLATES: dict[str, PromptTemplate] = {
    template.name: template
    for template in (
        PromptTemplate(
            name="tongsearch",
            user=TONGSEARCH_INSTRUCTIONS + "Query: {query}\n\n",
            system="",
            description="TongSearch QR's query-reasoning prompt (the paper's training and evaluation prompt)",
        ),
        PromptTemplate(
            name="bright",
            user="{query}\n\n" + TONGSEARCH_INSTRUCTIONS,
            description="BRIGHT's LLM-reasoning prompt: the query, then the same three instructions",
        ),
        PromptTemplate(
            name="query2doc",
            user="Write a passage that answers the given query.\n\nQuery: {query}\nPassage:",
            description="query2doc-style pseudo-document expansion (zero-shot)",
        ),
        PromptTemplate(
            name="hyde",
            user="Please write a passage to answer the question.\nQuestion: {query}\nPassage:",
            description="HyDE-style hypothetical document (zero-shot)",
        ),
        PromptTemplate(
            name="inf-x",
            user=("For the input query, formulating a concise search query for dense retrieval by distilling the "
                  "core intent from a complex user prompt and ignoring LLM instructions.The response should be "
                  "less than 200 words\n\n**Input Query:**\n{query}\n**Your Output:**\n"),
            system="You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
            description="INF-X-Retriever's RL query aligner (infly/inf-query-aligner): a concise rewrite for "
                        "dense retrieval",
        ),
    )
}

TEMPLATE_FILE_LIMIT = 64 * 1024  # bytes; a prompt longer than this is a wrong file, not a prompt
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def get_template(name: str | PromptTemplate) -> PromptTemplate:
    """The template called `name` (a PromptTemplate, such as a loaded file, is its own answer), or a ValueError
    listing the known names."""
    if isinstance(name, PromptTemplate):
        return name
    try:
        return TEMPLATES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown prompt template {name!r}; known templates: {', '.join(TEMPLATES)}") from None


def template_from_text(text: str, source: str = "template") -> PromptTemplate:
    """A user-turn template from its words; ValueError (one line, naming `source`) unless `{query}` is its only
    placeholder."""
    found = set(_PLACEHOLDER.findall(text))
    unknown = sorted(found - {"query"})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise ValueError(f"{source}: unknown placeholder(s) {names}; a template has one placeholder, {{query}}")
    if "query" not in found:
        raise ValueError(f"{source}: no {{query}} placeholder; write {{query}} where the query goes")
    probe = PromptTemplate(name="custom", user=text)
    return replace(probe, name=f"custom-{probe.fingerprint[:8]}", description=f"custom template from {source}")


def load_template_file(path: str | Path) -> PromptTemplate:
    """The template a text file holds (see the module docstring); ValueError with one line when it cannot be."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"template file {str(path)!r}: " + ("is a folder" if path.is_dir() else "no such file"))
    with path.open("rb") as handle:
        data = handle.read(TEMPLATE_FILE_LIMIT + 1)
    if len(data) > TEMPLATE_FILE_LIMIT:
        raise ValueError(f"template file {str(path)!r}: larger than {TEMPLATE_FILE_LIMIT // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"template file {str(path)!r}: not UTF-8 text (byte {error.start})") from None
    return template_from_text(text, f"template file {str(path)!r}")


def template_named_or_file(text: str) -> str | PromptTemplate:
    """What `--template TEXT` means: a template name when TEXT is one, else the file at TEXT (write ./NAME for
    a file called like a template)."""
    if text in TEMPLATES:
        return text
    if not Path(text).exists():
        raise ValueError(f"unknown prompt template {text!r}: neither a template name ({', '.join(TEMPLATES)}) "
                         "nor a file")
    return load_template_file(text)


def build_messages(query: str, template: str = "tongsearch") -> list[dict[str, str]]:
    """Chat messages asking the model to reason about `query` with the named template."""
    return get_template(template).messages(query)
