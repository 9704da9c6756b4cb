"""Runs a real OpenWebUI 0.12.4 as a subprocess, headless and offline, for the contract suite.

The server is the one ``scripts/install-openwebui.sh`` installs into its own virtualenv (``$OWUI_VENV``,
default ``~/.cache/openwebui-bridge/owui-0.12.4``). Each start gets a fresh ``DATA_DIR`` because OpenWebUI
stores its settings in the database on first start and prefers them over the environment afterwards.

Its only model provider and embedding engine is a :class:`~simulators.model_upstream.ModelUpstream`, so
every completion is deterministic. The admin account comes from ``WEBUI_ADMIN_EMAIL``/``PASSWORD`` (0.12.4
creates it at start when the database has no user, and then closes sign-up); the harness signs in and
creates an API key, which works because the server runs with ``ENABLE_API_KEYS=true``.

The class is synchronous on purpose: it manages a process and a few set-up requests, and a sync object is
usable from a session-scoped fixture by tests running on any event loop.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulators.processes import ServerProcess, free_port

OWUI_VERSION = "0.12.4"
DEFAULT_VENV = Path.home() / ".cache" / "openwebui-bridge" / f"owui-{OWUI_VERSION}"
INSTALL_HINT = "run scripts/install-openwebui.sh to install it (about 3 minutes with a warm pip cache)"


class OpenWebUIUnavailable(RuntimeError):
    """The real OpenWebUI is not installed, or did not become ready."""


@dataclass(frozen=True)
class OwuiUser:
    """A user of the running server with the credentials a test needs."""

    id: str
    email: str
    password: str
    role: str
    jwt: str
    api_key: str | None


def venv_path() -> Path:
    return Path(os.environ.get("OWUI_VENV", str(DEFAULT_VENV))).expanduser()


def executable() -> Path:
    """The ``open-webui`` entry point, or :class:`OpenWebUIUnavailable` saying how to install it."""
    path = venv_path() / "bin" / "open-webui"
    if not path.exists():
        raise OpenWebUIUnavailable(f"real OpenWebUI {OWUI_VERSION} not found at {path}: {INSTALL_HINT}")
    return path


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the server when the process that started it dies.

    Runs in the child before exec. Without it a test run killed by a signal (no ``finally``, no fixture
    teardown) leaves an orphaned OpenWebUI holding its port and data folder. No-op where prctl is absent.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class RealOpenWebUI(ServerProcess):
    """One OpenWebUI process on 127.0.0.1 wired to ``upstream_url`` (an OpenAI base URL ending in /v1).

    After :meth:`start`: ``base_url`` (no trailing slash, no /api), ``admin`` (an :class:`OwuiUser`),
    and the shortcuts ``api_key``, ``jwt``, ``admin_email``, ``admin_password``. The server's output goes
    to ``log_path`` inside the data folder; a failed start quotes its tail.
    """

    admin_email = "admin@bridge.test"
    admin_password = "admin-password-1"

    def __init__(
        self,
        upstream_url: str,
        *,
        upstream_key: str = "sk-fake",
        ready_timeout: float = 180.0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.upstream_url = upstream_url
        self.upstream_key = upstream_key
        self.ready_timeout = ready_timeout
        self.extra_env = dict(extra_env or {})
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.data_dir: Path | None = None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: OwuiUser | None = None
        self._user_count = 0

    # ---- lifecycle ---------------------------------------------------------------------------------

    def environment(self, data_dir: Path) -> dict[str, str]:
        """The settings that make the server headless, offline and deterministic (see the API docs)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_", "WEBUI_"))}
        env.update(
            {
                "DATA_DIR": str(data_dir),
                "WEBUI_SECRET_KEY": "contract-suite-secret",
                "WEBUI_ADMIN_EMAIL": self.admin_email,
                "WEBUI_ADMIN_PASSWORD": self.admin_password,
                "WEBUI_ADMIN_NAME": "Bridge Admin",
                "OFFLINE_MODE": "true",
                "HF_HUB_OFFLINE": "1",
                "ENABLE_OLLAMA_API": "false",
                "OPENAI_API_BASE_URLS": self.upstream_url,
                "OPENAI_API_KEYS": self.upstream_key,
                "RAG_EMBEDDING_ENGINE": "openai",
                "RAG_OPENAI_API_BASE_URL": self.upstream_url,
                "RAG_OPENAI_API_KEY": self.upstream_key,
                "RAG_EMBEDDING_MODEL": "embed-1",
                "ENABLE_API_KEYS": "true",
                "ENABLE_TITLE_GENERATION": "false",
                "ENABLE_FOLLOW_UP_GENERATION": "false",
                "ENABLE_TAGS_GENERATION": "false",
                "ENABLE_RETRIEVAL_QUERY_GENERATION": "false",
                "ENABLE_AUTOCOMPLETE_GENERATION": "false",
                "ENABLE_EVALUATION_ARENA_MODELS": "false",
                "ENABLE_VERSION_UPDATE_CHECK": "false",
                "ANONYMIZED_TELEMETRY": "false",
                "DO_NOT_TRACK": "true",
                "SCARF_NO_ANALYTICS": "true",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> RealOpenWebUI:
        """Start the process, wait for ``/ready``, sign in the admin and give it an API key."""
        command = [str(executable()), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self._tmp = tempfile.TemporaryDirectory(prefix="owui-contract-")
        self.data_dir = Path(self._tmp.name)
        self.log_path = self.data_dir / "open-webui.log"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.data_dir,
                env=self.environment(self.data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so stop() can signal the server and its workers as a group
                preexec_fn=_die_with_parent,
            )
        try:
            self._wait_ready()
            self._admin = self._sign_in(self.admin_email, self.admin_password, make_key=True)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise OpenWebUIUnavailable(
                        f"OpenWebUI exited with code {self._process.returncode} during start-up; "
                        f"log tail:\n{self.log_tail()}"
                    )
                try:
                    if client.get("/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
        raise OpenWebUIUnavailable(f"OpenWebUI not ready after {self.ready_timeout:.0f}s; log tail:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server's process group, SIGKILL it if it has not exited within ``timeout``. The group,
        not only its leader: a process the server forked may still be shutting down when the leader is gone,
        and nothing may outlive `stop`. A Ctrl-C while it waits (an impatient second one in the demo) kills the
        group at once instead of leaving the server behind."""
        process, self._process = self._process, None
        try:
            if process is not None:
                self._end(process, timeout)
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    @staticmethod
    def _end(process: subprocess.Popen[bytes], timeout: float) -> None:
        try:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout)
            if process.poll() is None or not _group_gone(process.pid, timeout):
                _kill_group(process)
        except KeyboardInterrupt:
            _kill_group(process)
            raise

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (the benchmark reads its CPU time)."""
        return self._process.pid if self._process is not None else None

    # ---- credentials -------------------------------------------------------------------------------

    @property
    def admin(self) -> OwuiUser:
        if self._admin is None:
            raise RuntimeError("RealOpenWebUI is not started")
        return self._admin

    @property
    def api_key(self) -> str:
        assert self.admin.api_key is not None
        return self.admin.api_key

    @property
    def jwt(self) -> str:
        return self.admin.jwt

    def _client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)

    def _sign_in(self, email: str, password: str, *, make_key: bool) -> OwuiUser:
        """Sign in with the password, or with the trusted email header where the server trusts one
        (`WEBUI_AUTH_TRUSTED_EMAIL_HEADER` in `extra_env`: it then takes no password sign-in at all)."""
        trusted = self.extra_env.get("WEBUI_AUTH_TRUSTED_EMAIL_HEADER")
        headers = {trusted: email} if trusted else {}
        with httpx.Client(base_url=self.base_url, timeout=30.0, headers=headers) as client:
            response = client.post("/api/v1/auths/signin", json={"email": email, "password": password})
            response.raise_for_status()
            session = response.json()
        api_key = None
        if make_key:
            with self._client(session["token"]) as client:
                response = client.post("/api/v1/auths/api_key")
                response.raise_for_status()
                api_key = response.json()["api_key"]
        return OwuiUser(session["id"], email, password, session["role"], session["token"], api_key)

    def allow_user_api_keys(self, allowed: bool) -> None:
        """Set the default permission that lets non-admin users create and use API keys.

        Off by default in 0.12.4; while off, a non-admin user's key answers 403 on every request.
        """
        with self._client(self.jwt) as client:
            permissions = client.get("/api/v1/users/default/permissions").raise_for_status().json()
            permissions.setdefault("features", {})["api_keys"] = allowed
            client.post("/api/v1/users/default/permissions", json=permissions).raise_for_status()

    def create_user(self, *, role: str = "user", api_key: bool = True) -> OwuiUser:
        """Add a user through the admin API (sign-up is closed) and sign them in.

        With ``api_key`` the default permission for API keys is switched on first (and left on).
        """
        self._user_count += 1
        email = f"user{self._user_count}@bridge.test"
        password = f"user-password-{self._user_count}"
        with self._client(self.jwt) as client:
            body = {"name": f"User {self._user_count}", "email": email, "password": password, "role": role}
            client.post("/api/v1/auths/add", json=body).raise_for_status()
        if api_key and role != "admin":
            self.allow_user_api_keys(True)
        return self._sign_in(email, password, make_key=api_key)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL every process of the server's group and wait (bounded) until none is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    _group_gone(process.pid, 5)


def _group_gone(pgid: int, timeout: float) -> bool:
    """Whether process group `pgid` has no live process left (zombies, already dead, do not count), waiting
    up to `timeout` seconds for it to empty."""
    deadline = time.monotonic() + timeout
    while _live_in_group(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _live_in_group(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()  # after "pid (comm)": state, ppid, pgrp, ...
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False
