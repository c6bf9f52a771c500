"""tsqr.reasoner.base.Reasoner: what callers plan with (the cached reasoning, whether a query would be generated,
the window, the same model with other settings), answered by the interface so no caller inspects a backend."""
from __future__ import annotations

from collections.abc import Generator, Sequence

from tsqr.reasoner import GeneratingReasoner, GenerationSettings, ReasoningCache
from tsqr.reasoner.backend_none import NoneReasoner
from tsqr.reasoner.base import Completion, Messages
from tsqr.reasoner.identity import ModelIdentity


class Echo(GeneratingReasoner):
    """The smallest real backend: writes the user turn back, counting the calls."""

    def __init__(self, cache: ReasoningCache | bool, settings: GenerationSettings | None = None) -> None:
        super().__init__(ModelIdentity("echo", "", "test"), settings, cache=cache)
        self.calls = 0

    def complete(self, conversations: Sequence[Messages], settings: GenerationSettings | None = None
                 ) -> list[Completion]:
        self.calls += len(conversations)
        return [Completion(messages[-1]["content"][-20:], 3) for messages in conversations]

    def stream_messages(self, messages: Messages, settings: GenerationSettings | None = None
                        ) -> Generator[str, None, int]:
        yield messages[-1]["content"][-20:]
        return 3


def test_a_generating_reasoner_knows_what_its_cache_holds(tmp_path) -> None:
    echo = Echo(ReasoningCache(tmp_path / "echo.jsonl"), GenerationSettings(max_new_tokens=8))
    assert echo.needs_generation("why?") and echo.cached("why?") is None
    [written] = echo.reason(["why?"], progress=False)
    assert not echo.needs_generation("why?") and echo.cached("why?").text == written.text
    assert echo.window == 0


def test_with_settings_shares_the_model_and_cache_but_keys_by_its_own_settings(tmp_path) -> None:
    echo = Echo(ReasoningCache(tmp_path / "echo.jsonl"), GenerationSettings(max_new_tokens=8))
    echo.reason(["why?"], progress=False)
    assert echo.with_settings(echo.settings) is echo
    longer = echo.with_settings(GenerationSettings(max_new_tokens=16))
    assert longer.settings.max_new_tokens == 16 and echo.settings.max_new_tokens == 8
    assert longer.cache is echo.cache and longer.needs_generation("why?")  # another setting, another key


def test_without_a_cache_every_query_is_generated() -> None:
    echo = Echo(cache=False)
    echo.reason(["why?"], progress=False)
    assert echo.needs_generation("why?") and echo.cached("why?") is None


def test_the_none_reasoner_never_generates_and_has_no_settings() -> None:
    none = NoneReasoner()
    assert not none.needs_generation("why?") and none.cached("why?") is None
    assert none.with_settings(GenerationSettings(max_new_tokens=4)) is none and none.window == 0
