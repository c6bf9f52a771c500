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
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

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
    )
}


def get_template(name: str) -> PromptTemplate:
    """The template called `name`, or a ValueError listing the known ones."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown prompt template {name!r}; known templates: {', '.join(TEMPLATES)}") from None


def build_messages(query: str, template: str = "tongsearch") -> list[dict[str, str]]:
    """Chat messages asking the model to reason about `query` with the named template."""
    return get_template(template).messages(query)
