"""Public mode: what a visitor of a hosted app may ask for, decided by the host and checked on the server.

Usage:
    policy = host_policy("0.0.0.0")                  # the address the app listens on; reads the variables below
    spec = policy.check_model(model)                 # a visitor's model, or PolicyError when it is not the host's
    domains = policy.check_hub_domains(chosen)       # hub domains, or PolicyError beyond the host's list
    query, note = policy.bounded_query(text)         # at most TSQR_MAX_QUERY_CHARS characters, and a note if cut

Anyone on the internet can drive a public app, through the page or by sending any string to its API with
gradio_client, so the dropdowns are only a convenience: every event handler checks its inputs here. Public mode
is on when $SPACE_ID is set (Hugging Face Spaces sets it), when $TSQR_PUBLIC=1, or when the app listens beyond
loopback; nothing turns it off there. A public app runs only the models the host lists ($TSQR_MODELS, plus
$TSQR_MODEL), because a typed model is a URL the server would send requests to (SSRF), a path whose error
message tells whether it exists, or a hub id whose weights it would download. Uploaded reasoning files stay
allowed: they are data, read under the upload limits. Run on 127.0.0.1, the app is its user's own and anything
goes, as before. Query length is bounded in every mode: a 1 MB query holds a model for a minute and lands in
the reasoning cache.

Variables (read once, when the app starts):
    TSQR_PUBLIC        "1" forces public mode (e.g. behind a reverse proxy on loopback)
    TSQR_MODELS        comma list of the models a public app offers; default "default,none"
    TSQR_HUB_DOMAINS   comma list of BRIGHT domains a public app may load from the hub, "all", or "" for none;
                       default all 12, none when the hub is offline (tsqr.hub: HF_HUB_OFFLINE=1)
    TSQR_MAX_QUERY_CHARS  longest query searched and reasoned about, in characters; default 4000
    TSQR_MAX_MODEL_QUEUE  most searches waiting for (or holding) the model at once; one more is told at once to try
                          again; default 8 (every mode)
    TSQR_MAX_INDEX_SECONDS  longest a visitor's corpus may take to index or embed (a worker process, killed past
                          it); default 600 in public mode, no limit locally; 0: no limit
    TSQR_MAX_EMBEDDED_DOCS  most documents embedded for one dense or hybrid request (a corpus already in the
                          embeddings cache is not counted); default 5000 in public mode, no limit locally
"""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tsqr.app.models import MODEL_ENV
from tsqr.bright import BRIGHT_DOMAINS
from tsqr.hub import hub_offline

PUBLIC_ENV, MODELS_ENV, HUB_DOMAINS_ENV, MAX_QUERY_ENV = (
    "TSQR_PUBLIC", "TSQR_MODELS", "TSQR_HUB_DOMAINS", "TSQR_MAX_QUERY_CHARS")
MODEL_QUEUE_ENV, WORK_SECONDS_ENV, EMBEDDED_DOCS_ENV = (
    "TSQR_MAX_MODEL_QUEUE", "TSQR_MAX_INDEX_SECONDS", "TSQR_MAX_EMBEDDED_DOCS")
DEFAULT_MODELS = ("default", "none")
DEFAULT_MAX_QUERY_CHARS = 4000
DEFAULT_MODEL_QUEUE = 8
PUBLIC_WORK_SECONDS, PUBLIC_EMBEDDED_DOCS = 600.0, 5000  # locally: no limit unless the variables say so
LOOPBACK_NAMES = ("localhost", "")  # "" and None: Gradio's default, 127.0.0.1
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
SHOWN_CHARS = 60  # how much of a refused value an error message repeats


@dataclass(frozen=True)
class WorkBounds:
    """How long a visitor's indexing or embedding may run, and how many documents one request may embed
    (None: no limit)."""

    seconds: float | None = None
    embedded_documents: int | None = None


class PolicyError(ValueError):
    """A visitor asked for something the host does not offer; the message says what is offered."""


@dataclass(frozen=True)
class HostPolicy:
    """What the app offers: `public` (restricted) or not, the host's models and hub domains, the query bound, how
    many searches may wait for the model, and the bounds of a visitor's indexing/embedding (None: no limit)."""

    public: bool
    models: tuple[str, ...]
    hub_domains: tuple[str, ...]
    max_query_chars: int = DEFAULT_MAX_QUERY_CHARS
    max_model_queue: int = DEFAULT_MODEL_QUEUE
    work_seconds: float | None = None
    max_embedded_documents: int | None = None

    @property
    def work_bounds(self) -> WorkBounds:
        """The bounds of a visitor's indexing and embedding (run in a worker process: tsqr.app.worker)."""
        return WorkBounds(self.work_seconds, self.max_embedded_documents)

    def check_model(self, spec: str) -> str:
        """The model spec to load: anything in local mode, only one of the host's models in public mode.

        The refusal is the same whatever the value names (an existing path, a URL, a hub id), so it reveals
        nothing about the server.
        """
        spec = (spec or "").strip()
        if self.public and spec not in self.models:
            raise PolicyError(f"model {_shown(spec)} is not offered by this public server: choose one of "
                              f"{', '.join(self.models)}")
        return spec

    def check_hub_domains(self, domains: Iterable[str]) -> tuple[str, ...]:
        """The chosen hub domains, each one the host allows (in public mode)."""
        chosen = tuple(domains)
        refused = [domain for domain in chosen if self.public and domain not in self.hub_domains]
        if refused:
            offered = ", ".join(self.hub_domains) if self.hub_domains else "none (upload the data instead)"
            raise PolicyError(f"hub domain {_shown(refused[0])} is not offered by this public server; "
                              f"offered: {offered}")
        return chosen

    def bounded_query(self, query: str) -> tuple[str, str]:
        """(the query, cut to `max_query_chars`; a note for the user saying so, or "" when it was not cut)."""
        if len(query) <= self.max_query_chars:
            return query, ""
        return query[: self.max_query_chars], (
            f"Your query was cut from {len(query):,} to {self.max_query_chars:,} characters (this server's "
            f"{MAX_QUERY_ENV}); the rest was neither searched nor reasoned about.")


def _shown(value: str) -> str:
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "...")


def listens_beyond_loopback(server_name: str | None) -> bool:
    """True unless the app binds only a loopback address (127.0.0.0/8, ::1, localhost)."""
    name = (server_name or "").strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name other than localhost: it may resolve to anything
        return True


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in TRUE + FALSE:
        raise ValueError(f"${name}={env[name]!r}: use 1 (on) or 0 (off)")
    return value in TRUE


def _names(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def _hub_domains(env: Mapping[str, str], known: Sequence[str]) -> tuple[str, ...]:
    if HUB_DOMAINS_ENV not in env:
        return () if hub_offline(env) else tuple(known)
    value = env[HUB_DOMAINS_ENV].strip()
    if value.lower() == "all":
        return tuple(known)
    domains = _names(value)
    unknown = [domain for domain in domains if domain not in known]
    if unknown:
        raise ValueError(f"${HUB_DOMAINS_ENV}: {unknown[0]!r} is not a BRIGHT domain; use 'all', '' or a comma "
                         f"list of: {', '.join(known)}")
    return domains


def _max_query_chars(env: Mapping[str, str]) -> int:
    value = env.get(MAX_QUERY_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_QUERY_CHARS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"${MAX_QUERY_ENV}={value!r}: give a positive number of characters")
    return int(value)


def _number(env: Mapping[str, str], name: str, default: float | None, minimum: float, whole: bool) -> float | None:
    """A numeric variable, `default` when unset; ValueError naming it unless it is a finite number >= minimum."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        number = None
    if number is None or not minimum <= number < float("inf"):
        kind = "a whole number" if whole else "a number of seconds"
        raise ValueError(f"${name}={value!r}: give {kind} >= {minimum:g}")
    return number


def host_policy(server_name: str | None = None, env: Mapping[str, str] | None = None) -> HostPolicy:
    """The policy for an app listening on `server_name`, from the environment; ValueError names a bad variable."""
    env = os.environ if env is None else env
    public = bool(env.get("SPACE_ID", "").strip()) or _flag(env, PUBLIC_ENV) or listens_beyond_loopback(server_name)
    configured = env.get(MODEL_ENV, "").strip()
    models = _names(",".join([configured, env.get(MODELS_ENV, ",".join(DEFAULT_MODELS))]))
    if not models:
        raise ValueError(f"${MODELS_ENV} lists no model: give at least one, e.g. {','.join(DEFAULT_MODELS)}")
    seconds = _number(env, WORK_SECONDS_ENV, PUBLIC_WORK_SECONDS if public else None, 0, whole=False)
    return HostPolicy(public, models, _hub_domains(env, list(BRIGHT_DOMAINS)), _max_query_chars(env),
                      int(_number(env, MODEL_QUEUE_ENV, DEFAULT_MODEL_QUEUE, 1, whole=True)),
                      seconds or None,  # 0: no limit
                      _number(env, EMBEDDED_DOCS_ENV, PUBLIC_EMBEDDED_DOCS if public else None, 0, whole=True))
