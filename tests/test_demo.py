"""`bridge demo` as a newcomer runs it: a real process, nothing configured, in a folder outside the clone."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bridge.demo import STAND_IN_MODEL, STAND_IN_NAME
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.processes import free_port
from tests.test_cli import assert_one_clear_line, run_bridge

BRIDGE = Path(sys.executable).with_name("bridge")
"""The console script README's install command puts on the PATH."""


def offline_pip(tmp_path: Path) -> dict[str, str]:
    """An OpenWebUI install that would go to `tmp_path` with pip pointed at a closed port: no network.

    Only the machine's pip configuration is left out (it adds local wheel folders); pip itself runs as usual.
    """
    return {
        "OWUI_VENV": str(tmp_path / "owui"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        "PIP_INDEX_URL": f"http://127.0.0.1:{free_port()}/simple",
        "PIP_RETRIES": "1",
    }


def test_demo_uses_the_configured_openwebui_and_installs_nothing(
    fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream, tmp_path: Path
) -> None:
    own = {"OPENWEBUI_URL": fake_owui.url, "OPENWEBUI_API_KEY": fake_owui.api_key, "BRIDGE_DATA_DIR": str(tmp_path)}
    result = run_bridge(["demo"], {**offline_pip(tmp_path), **own}, tmp_path, stdin="hello own server\n/quit\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "echo: hello own server" in result.stdout
    assert f"chatting with {fake_owui.url}, nothing installed" in result.stdout
    assert STAND_IN_NAME not in result.stdout and "installing" not in result.stdout
    assert not (tmp_path / "owui").exists()
    assert f"{fake_owui.url}/c/" in result.stdout  # the answer's link is in that OpenWebUI
    assert model_upstream.requests_containing("hello own server")

    url_only = run_bridge(["demo"], {**offline_pip(tmp_path), "OPENWEBUI_URL": fake_owui.url}, tmp_path)
    assert_one_clear_line(url_only, "OPENWEBUI_API_KEY", "OPENWEBUI_URL is set")
    assert not (tmp_path / "owui").exists()


def test_demo_without_network_says_so_in_one_line(tmp_path: Path) -> None:
    result = run_bridge(["demo"], offline_pip(tmp_path), tmp_path)
    assert "installing open-webui 0.12.4" in result.stdout  # the progress line came first
    assert_one_clear_line(result, "cannot install OpenWebUI 0.12.4", "no network", "set OPENWEBUI_URL")
    log = Path(result.stderr.rsplit("Log: ", 1)[1].strip())
    assert log.is_file() and "NewConnectionError" in log.read_text()


class DemoProcess:
    """`bridge demo` in its own process group with its output read line by line, as a terminal would show it."""

    def __init__(self, cwd: Path) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENWEBUI_", "BRIDGE_"))}
        self.process = subprocess.Popen(
            [str(BRIDGE), "demo"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean,
            cwd=cwd,
            start_new_session=True,  # so Ctrl-C can be sent to its group, as a terminal does
            # a shell that started pytest in the background ignores SIGINT, and children inherit that
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.shown: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        """The first line shown from now on that contains `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, f"bridge demo exited: {self.output()}"
                continue
            self.shown.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not shown within {timeout}s: {self.output()}")

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def output(self) -> str:
        return "".join(self.shown)

    def stop(self) -> None:
        """After a failed test: Ctrl-C, so that it still stops its OpenWebUI; SIGKILL if that does not work."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _openwebui_processes(port: int) -> list[Path]:
    """The /proc folders of running processes serving `port`, as `ps` would list them."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            argv = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and str(port).encode() in argv:
            found.append(process)
    return found


@pytest.mark.contract
def test_demo_starts_openwebui_chats_there_and_ctrl_c_stops_it(owui_installed: Path, tmp_path: Path) -> None:
    demo = DemoProcess(tmp_path)
    try:
        demo.wait_for("already installed", timeout=60)  # the suite's install is reused, not redone
        where = demo.wait_for("OpenWebUI is at", timeout=240)
        demo.wait_for("Chatting with stand-in", timeout=30)
        assert STAND_IN_NAME in demo.output() and "not an AI" in demo.output()
        found = re.search(r"(http://127\.0\.0\.1:(\d+)) \(log in as (\S+) / (\S+)\)", where)
        assert found, where
        url, port, email, password = found.group(1), int(found.group(2)), found.group(3), found.group(4)

        demo.type("first turn")
        demo.wait_for("echo: first turn", timeout=60)
        demo.type("second turn")
        demo.wait_for("echo: second turn", timeout=60)
        link = demo.wait_for(f"{url}/c/", timeout=30)

        # what the person sees in the web UI, signed in with the login the demo printed
        with httpx.Client(base_url=url, timeout=30) as web:
            token = web.post("/api/v1/auths/signin", json={"email": email, "password": password}).json()["token"]
            web.headers["Authorization"] = f"Bearer {token}"
            chats = web.get("/api/v1/chats/list").json()
            assert len(chats) == 1 and chats[0]["id"] in link
            chat = web.get(f"/api/v1/chats/{chats[0]['id']}").json()["chat"]
            models = {m["id"]: m["name"] for m in web.get("/api/models").json()["data"]}
        messages = chat["history"]["messages"]
        chain, current = [], chat["history"]["currentId"]
        while current:
            chain.insert(0, messages[current])
            current = messages[current]["parentId"]
        assert [m["content"] for m in chain] == ["first turn", "echo: first turn", "second turn", "echo: second turn"]
        assert models == {STAND_IN_MODEL: STAND_IN_NAME}
        servers = _openwebui_processes(port)
        assert servers
        data_folders = [(server / "cwd").readlink() for server in servers]  # it runs in its data folder
        assert all(folder.is_dir() for folder in data_folders)

        os.killpg(demo.process.pid, signal.SIGINT)  # Ctrl-C at the prompt
        demo.wait_for("stopping OpenWebUI", timeout=30)
        os.killpg(demo.process.pid, signal.SIGINT)  # and an impatient second one while it stops
        assert demo.process.wait(timeout=60) == 130
    finally:
        demo.stop()
    assert demo.process.stderr is not None and "Traceback" not in demo.process.stderr.read()
    assert _openwebui_processes(port) == []
    assert not any(folder.exists() for folder in data_folders)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
