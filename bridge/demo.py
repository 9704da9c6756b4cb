"""`bridge demo`: `bridge chat` against a local OpenWebUI with a stand-in model, with nothing set up first.

A newcomer's first command should answer before they have an OpenWebUI or an API key. So, unless
`OPENWEBUI_URL` or `OPENWEBUI_API_KEY` names an OpenWebUI of their own, this installs the pinned real
OpenWebUI when it is missing (`scripts/install-openwebui.sh`, into `~/.cache/openwebui-bridge`, once), starts
it on a free port with a fresh data folder and the test suite's deterministic model upstream as its only
model, creates the API key, and stops all of it when the chat ends (`/quit`, end of input, or Ctrl-C).

The OpenWebUI runner and the stand-in model are the test tools in `simulators/`, which the wheel (and so
the docker image) does not carry: this path runs from a clone installed with `pip install -e .`, whose
editable install puts the clone on `sys.path` (`dev-mode-dirs` in pyproject.toml). From the wheel it says
so in one line; with an OpenWebUI of one's own it needs nothing from the clone.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bridge.settings import ConfigError, OpenWebUISettings, Settings

CLONE = Path(__file__).resolve().parents[1]
INSTALL_SCRIPT = CLONE / "scripts" / "install-openwebui.sh"
STAND_IN_MODEL = "stand-in"
STAND_IN_NAME = "Stand-in model (echoes you, not an AI)"
STAND_IN_TOKENS_PER_SECOND = 8.0
"""Slow enough to see an answer stream in, word by word."""

# What pip logs when it cannot reach the package index at all (connection refused, DNS, no route, proxy).
_OFFLINE_SIGNS = (
    "NewConnectionError",
    "NameResolutionError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ProxyError",
)

Say = Callable[[str], None]


def _say(text: str) -> None:
    """Progress shows at once, also when stdout is a pipe (`bridge demo | tee`)."""
    print(text, flush=True)


class DemoError(Exception):
    """The demo's OpenWebUI cannot be installed or started; the message says why and what to do."""


@dataclass(frozen=True)
class DemoOpenWebUI:
    """A running demo OpenWebUI: where it is, the key the bridge uses, the login for its web UI."""

    url: str
    api_key: str
    email: str
    password: str
    model: str
    folder: Path
    """A fresh folder for the bridge's database, removed on exit like OpenWebUI's own data."""


def uses_own_openwebui(openwebui: OpenWebUISettings) -> bool:
    """Whether `OPENWEBUI_URL` or `OPENWEBUI_API_KEY` is set (environment or `.env`)."""
    return bool(openwebui.api_key.get_secret_value()) or "url" in openwebui.model_fields_set


@contextmanager
def demo_settings(settings: Settings, say: Say = _say) -> Iterator[Settings]:
    """The settings `bridge chat` runs with in `bridge demo`.

    The person's own OpenWebUI when they named one; otherwise a demo OpenWebUI started here, announced
    with its web UI's login and its stand-in model, and stopped when the block ends.
    """
    if uses_own_openwebui(settings.openwebui):
        if not settings.openwebui.api_key.get_secret_value():
            raise ConfigError(
                "OPENWEBUI_API_KEY: missing; OPENWEBUI_URL is set, so `bridge demo` uses that OpenWebUI and needs "
                "a key of it (Settings > Account > API keys). Unset OPENWEBUI_URL to try a demo OpenWebUI instead"
            )
        say(f"OPENWEBUI_URL/OPENWEBUI_API_KEY are set: chatting with {settings.openwebui.url}, nothing installed.")
        yield settings
        return
    with running_demo(say) as demo:
        say(
            f"OpenWebUI is at {demo.url} (log in as {demo.email} / {demo.password}): this chat appears there.\n"
            f'The model is a stand-in, not an AI: "{STAND_IN_NAME}" answers "echo: " and your words '
            "([[reply:600]] in a message asks for a long answer).\n"
            "For real models, connect your own OpenWebUI (README, Quick start). "
            "/quit or Ctrl-C stops the chat and this OpenWebUI."
        )
        yield _pointed_at(settings, demo)


def _pointed_at(settings: Settings, demo: DemoOpenWebUI) -> Settings:
    """`settings` with the demo's OpenWebUI, key and model, and a database that goes away with it."""
    pointed = copy.copy(settings)
    pointed.openwebui = settings.openwebui.model_copy(
        update={"url": demo.url, "api_key": SecretStr(demo.api_key), "default_model": demo.model}
    )
    pointed.bridge = settings.bridge.model_copy(update={"db_path": demo.folder / "bridge.db"})
    return pointed


@contextmanager
def running_demo(say: Say = _say) -> Iterator[DemoOpenWebUI]:
    """Install OpenWebUI if needed, start the stand-in model and OpenWebUI, yield them, stop both on exit."""
    if not (CLONE / "simulators" / "openwebui_server.py").exists() or not INSTALL_SCRIPT.exists():
        raise DemoError(
            "bridge demo starts its OpenWebUI from a clone of the repository (pip install -e .), and this install "
            "is not one; set OPENWEBUI_URL and OPENWEBUI_API_KEY to chat with your own OpenWebUI"
        )
    from simulators.model_upstream import ModelUpstream, UpstreamModel
    from simulators.openwebui_server import OWUI_VERSION, OpenWebUIUnavailable, RealOpenWebUI, venv_path

    install(say, venv_path(), OWUI_VERSION)
    upstream = ModelUpstream(
        [UpstreamModel(STAND_IN_MODEL, name=STAND_IN_NAME)], tokens_per_second=STAND_IN_TOKENS_PER_SECOND
    )
    with ExitStack() as started:
        started.enter_context(upstream.running_in_thread())
        say(f"starting OpenWebUI {OWUI_VERSION} on a free port with a fresh data folder (15-30 s)...")
        try:
            server = started.enter_context(RealOpenWebUI(upstream.base_url))
        except OpenWebUIUnavailable as failed:
            raise DemoError(f"OpenWebUI did not start: {failed}") from None
        started.callback(say, "\nstopping OpenWebUI...")  # on a line of its own, after a ^C or the prompt
        folder = Path(started.enter_context(tempfile.TemporaryDirectory(prefix="bridge-demo-")))
        yield DemoOpenWebUI(
            server.base_url, server.api_key, server.admin_email, server.admin_password, STAND_IN_MODEL, folder
        )


def install(say: Say, venv: Path, version: str) -> None:
    """Run `scripts/install-openwebui.sh`: its own lines are the progress, a failure is one `DemoError` line.

    The script decides whether the install is there and whole (it is reused in a second or so); pip's
    output goes to a log next to the install, named in the error.
    """
    log_path = venv.parent / f"install-{version}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        # Its own session: a Ctrl-C reaches only us, and we stop the script and pip together.
        script = subprocess.Popen(
            ["bash", str(INSTALL_SCRIPT)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            # this Python, unless PYTHON says otherwise: `python3` may be older than OpenWebUI needs (3.11, 3.12)
            env={"PYTHON": sys.executable, **os.environ, "OWUI_VENV": str(venv), "OWUI_VERSION": version},
            start_new_session=True,
        )
        try:
            assert script.stdout is not None
            for line in script.stdout:
                say(line.rstrip())
                log.write(line)
                log.flush()
            code = script.wait()
        except BaseException:
            os.killpg(script.pid, signal.SIGTERM)
            script.wait()
            raise
    if code != 0:
        raise DemoError(_install_failure(version, log_path))


def _install_failure(version: str, log_path: Path) -> str:
    """One line: no network, or pip's own last error, and where the whole log is."""
    text = log_path.read_text(errors="replace")
    if any(sign in text for sign in _OFFLINE_SIGNS):
        return (
            f"cannot install OpenWebUI {version}: pip could not reach the package index (no network?). "
            f"Connect and run `bridge demo` again, or set OPENWEBUI_URL and OPENWEBUI_API_KEY to use your own "
            f"OpenWebUI. Log: {log_path}"
        )
    errors = [line for line in text.splitlines() if line.startswith("ERROR:")]
    reason = errors[-1].removeprefix("ERROR:").strip() if errors else "the install script failed"
    return f"cannot install OpenWebUI {version}: {reason}. Log: {log_path}"
