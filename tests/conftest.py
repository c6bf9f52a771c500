"""Test-wide settings: fully offline, a private cache per test, the optional shared BRIGHT data, and
`require_reference`, which turns a missing fidelity reference into a failure where CI asks for every one.

Usage (in a test module):
    from conftest import require_reference
    pytrec_eval = require_reference("pytrec_eval", "pytrec_eval (pip install pytrec-eval-terrier)")

The fidelity tests compare tsqr with the real references (pytrec_eval, gensim, pyserini's Lucene, ...). On a
developer's machine a missing reference is a skip that says what to install; with TSQR_REQUIRE_REFERENCES=1
(set by .ci/run) it is a failure, so a broken install can never turn a comparison into a silent skip.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, NoReturn

import pytest

from tsqr.reasoner import GenerationSettings

# Nothing in the suite may reach a hub: weights and data come from the project, a package or ../shared. Forced,
# not defaulted: a shell that exported HF_HUB_OFFLINE=0 must not send the suite online.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REQUIRE_REFERENCES = "TSQR_REQUIRE_REFERENCES"


def references_required() -> bool:
    """True where a missing reference must fail the run (TSQR_REQUIRE_REFERENCES=1, as in CI)."""
    return os.environ.get(REQUIRE_REFERENCES, "") == "1"


def missing_reference(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it under TSQR_REQUIRE_REFERENCES=1."""
    if references_required():
        pytest.fail(f"{reason} ({REQUIRE_REFERENCES}=1: a missing reference is a failure)", pytrace=False)
    pytest.skip(reason)


def require_reference(module: str, what: str) -> ModuleType:
    """Import the reference `module`; if it is not importable, skip (or fail, see above) naming `what`.

    Only an ImportError counts as "missing": a reference that imports but then breaks is an error either way.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing_reference(f"{what} is not importable ({type(error).__name__}: {error})")


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Module fixtures (set up before any per-test fixture) write to a throwaway folder, never ~/.cache/tsqr."""
    os.environ["TSQR_CACHE"] = str(tmp_path_factory.mktemp("tsqr-cache-fixtures"))


@pytest.fixture(autouse=True)
def _private_cache(_session_cache: None, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes and reasonings a test computes go to its own folder, not another test's: a cache shared by the
    session makes a test's outcome depend on which tests ran before it (a cached reasoning or index hides work)."""
    monkeypatch.setenv("TSQR_CACHE", str(tmp_path_factory.mktemp("tsqr-cache")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real BRIGHT queries/qrels and TongSearch reasonings beside the repo, or a skip saying why."""
    if not (SHARED_DATA / "bright").is_dir():
        pytest.skip(f"real BRIGHT data not found at {SHARED_DATA} (only present on the project's machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_policy_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train.policy's two-layer random Llama with the embedded model's real chat tokenizer, built once for the
    session (reading the tokenizer out of the GGUF is the slow part); tests only read it."""
    from train.policy import write_tiny_policy

    return write_tiny_policy(tmp_path_factory.mktemp("tiny-policy") / "model")


class ExportedDefault(NamedTuple):
    """What `tsqr export-model default FOLDER` gave: its exit code, what it printed, and the folder it wrote."""

    folder: Path
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def exported_default(tmp_path_factory: pytest.TempPathFactory) -> ExportedDefault:
    """The embedded model exported once for the session through the CLI (`tsqr export-model default`):
    dequantising the 135M GGUF to float32 is the slow part, and test_reasoner_default and test_export_gguf
    both check that export. Tests only read the folder (and the exit code and output the command gave)."""
    from tsqr.__main__ import main
    from tsqr.reasoner import default_gguf_path

    try:
        default_gguf_path()
    except FileNotFoundError as error:
        missing_reference(f"the embedded model is missing: {error}")
    folder = tmp_path_factory.mktemp("exported-default") / "checkpoint"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exit_code = main(["export-model", "default", str(folder)])
    return ExportedDefault(folder, exit_code, printed.getvalue())


# -- the tiny random Llama of test_reasoner_tiny and test_serve_server ---------------------------------------
TINY_QUERIES = ["why is the sky blue", "tides", "sourdough starter smells like nail polish remover, why?", "the moon"]
TINY_CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                      "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# threads=1: outputs compared for equality come from reasoners loaded at different times, and a thread count
# that followed the load average would let their floating-point sums differ.
TINY_SETTINGS = GenerationSettings(max_new_tokens=12, batch_size=4, repetition_penalty=1.1, threads=1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here, saved like any checkpoint (no hub): built
    once for the session, read by test_reasoner_tiny (the transformers backend) and test_serve_server."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [" ".join(TINY_QUERIES), "the ocean rises and falls twice a day", "acetone ethyl acetate yeast"] * 3
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        clean_up_tokenization_spaces=False)
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         initializer_range=0.5, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
