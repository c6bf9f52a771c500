"""The transformers backend batches length-sorted prompts (little padding) and still answers in input order,
with the same greedy text as one prompt at a time."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.synthetic_model import write_random_checkpoint
from tsqr.reasoner import GenerationSettings, load_reasoner
from tsqr.reasoner.backend_transformers import TransformersReasoner

QUERIES = ["tides",
           "why is the sky blue during the day but red at sunset, and what does scattering have to do with it?",
           "ice floats", "how do vaccines train the immune system to recognise a virus it has never met?",
           "the moon", "why do onions make you cry?", "rust"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "model", shape="tiny")


def test_batches_are_cut_from_length_sorted_prompts_and_answers_keep_input_order(tiny):
    reasoner = load_reasoner(str(tiny), GenerationSettings(max_new_tokens=5, batch_size=3), cache=False)
    assert isinstance(reasoner, TransformersReasoner)
    batches: list[list[int]] = []
    generate_batch = reasoner.complete

    def recording(conversations, settings=None):  # records what each real batch held, then generates it
        batches.append([reasoner.count_tokens(messages) for messages in conversations])
        return generate_batch(conversations, settings)

    reasoner.complete = recording
    results = reasoner.reason(QUERIES, progress=False)
    assert [r.query for r in results] == QUERIES
    assert [len(batch) for batch in batches] == [3, 3, 1]
    lengths = [length for batch in batches for length in batch]
    assert lengths == sorted(lengths, reverse=True)  # longest first, so the biggest batch fails first if any
    one_by_one = load_reasoner(str(tiny), GenerationSettings(max_new_tokens=5, batch_size=1), cache=False)
    assert [r.text for r in one_by_one.reason(QUERIES, progress=False)] == [r.text for r in results]
    assert len({r.text for r in results}) > 1  # the texts differ, so the comparison above can fail
