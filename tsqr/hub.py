"""Whether the Hugging Face hub may be asked: one rule for the CLI, the app and the model loaders.

Usage:
    if hub_offline(): ...        # HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is 1, true, yes or on (any case)
    go_offline()                 # from now on the hub libraries answer from their local caches only

The rule is huggingface_hub's own reading of HF_HUB_OFFLINE, so tsqr never disagrees with the library it drives
(before, one part counted "true" and another only "1").
"""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # either one forbids model downloads
SET_WHEN_OFFLINE = (*OFFLINE_VARIABLES, "HF_DATASETS_OFFLINE")
TRUE_VALUES = ("1", "true", "yes", "on")


def hub_offline(env: Mapping[str, str] = os.environ) -> bool:
    """True when the environment forbids hub downloads."""
    return any(env.get(name, "").strip().lower() in TRUE_VALUES for name in OFFLINE_VARIABLES)


def go_offline(env: MutableMapping[str, str] = os.environ) -> None:
    """Switch the hub libraries (models, tokenizers, datasets) to their local caches."""
    for name in SET_WHEN_OFFLINE:
        env[name] = "1"
