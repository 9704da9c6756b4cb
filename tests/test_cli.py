"""The `bridge` command as a user runs it: a real process, settings from the environment."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from bridge.openwebui import chat as chats
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.openwebui_server import RealOpenWebUI
from simulators.processes import environ_without_settings, free_port
from tests.conftest import OwuiTarget


def run_bridge(args: list[str], env: dict[str, str], cwd: Path, stdin: str | Path = "") -> subprocess.CompletedProcess:
    """`bridge ARGS` with only `env` configured; `stdin` is text piped in, or a file to read from."""
    with contextlib.ExitStack() as files:
        piped = {"stdin": files.enter_context(stdin.open())} if isinstance(stdin, Path) else {"input": stdin}
        return subprocess.run(
            [sys.executable, "-m", "bridge", *args],
            **piped,
            capture_output=True,
            text=True,
            env={**environ_without_settings(), **env},
            cwd=cwd,
            timeout=120,
            check=False,
        )


def settings(owui: OwuiTarget, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "OPENWEBUI_URL": owui.url,
        "OPENWEBUI_API_KEY": owui.api_key,
        "BRIDGE_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def assert_one_clear_line(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    joined = "\n".join(lines)
    for needle in needles:
        assert needle in joined, joined
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr


def test_chat_holds_a_streamed_multi_turn_conversation(owui: OwuiTarget, tmp_path: Path) -> None:
    result = run_bridge(
        ["chat"], settings(owui, tmp_path), tmp_path, stdin="hello bridge\nsecond question\n/models\n/quit\n"
    )
    assert result.returncode == 0, result.stderr
    assert "echo: hello bridge" in result.stdout and "echo: second question" in result.stdout
    assert "vision-1" in result.stdout  # /models
    link = [line for line in result.stdout.splitlines() if "/c/" in line][-1]
    chat_id = link.rsplit("/c/", 1)[1].strip(" ]")
    headers = {"Authorization": f"Bearer {owui.api_key}"}
    listed = httpx.get(f"{owui.url}/api/v1/chats/list", headers=headers, timeout=10).json()
    assert chat_id in {c["id"] for c in listed}
    chat = httpx.get(f"{owui.url}/api/v1/chats/{chat_id}", headers=headers, timeout=10).json()["chat"]
    contents = [m["content"] for m in chats.chain(chat)]
    assert contents == ["hello bridge", "echo: hello bridge", "second question", "echo: second question"]
    # a second run continues the same chat until /new
    again = run_bridge(["chat"], settings(owui, tmp_path), tmp_path, stdin="third\n/new\nfresh start\n/quit\n")
    assert again.returncode == 0, again.stderr
    links = [line for line in again.stdout.splitlines() if "/c/" in line]
    assert chat_id in links[0] and chat_id not in links[1]


def test_chat_model_command_sets_the_model_for_this_and_later_runs(
    fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream, tmp_path: Path
) -> None:
    owui = OwuiTarget("fake", fake_owui.url, fake_owui.api_key, model_upstream)
    stdin = "/model\n/model vision-1\nwhich model MARKER-cli1\n/model nope-7b\n/model\n/quit\n"
    result = run_bridge(["chat"], settings(owui, tmp_path, OPENWEBUI_DEFAULT_MODEL="echo-1"), tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr
    said = [line.removeprefix("> ") for line in result.stdout.splitlines()]  # "> " is the prompt
    listed = "Available: `echo-1`, `vision-1`. Change it with `/model <name>`."
    assert said[1:3] == [f"Model here: `echo-1`. {listed}", "Model here set to `vision-1` by you."]
    assert said[-3:-1] == [
        "There is no model `nope-7b` in OpenWebUI. Available: echo-1, vision-1.",
        f"Model here: `vision-1`. {listed}",
    ]
    [asked] = model_upstream.requests_containing("MARKER-cli1")
    assert asked.model == "vision-1"
    again = run_bridge(["chat"], settings(owui, tmp_path, OPENWEBUI_DEFAULT_MODEL="echo-1"), tmp_path, stdin="/quit\n")
    assert again.stdout.startswith("Chatting with vision-1."), again.stdout


def test_chat_reads_its_questions_from_a_file(fake_owui, model_upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`bridge chat < file`: a file is read directly (the event loop can wait on a terminal or a pipe, not a file)."""
    owui = OwuiTarget("fake", fake_owui.url, fake_owui.api_key, model_upstream)
    questions = tmp_path / "questions.txt"
    questions.write_text("from a file\nlast line without a newline")
    result = run_bridge(["chat"], settings(owui, tmp_path), tmp_path, stdin=questions)
    assert result.returncode == 0, result.stderr
    assert "echo: from a file" in result.stdout and "echo: last line without a newline" in result.stdout


def test_check_reports_models_and_platforms(fake_owui, model_upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    owui = OwuiTarget("fake", fake_owui.url, fake_owui.api_key, model_upstream)
    result = run_bridge(["check"], settings(owui, tmp_path, DISCORD_BOT_TOKEN="secret-discord-token-123"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "API key accepted" in result.stdout and "echo-1" in result.stdout
    assert "Discord: configured" in result.stdout and "Slack: not configured" in result.stdout
    assert "secret-discord-token-123" not in result.stdout + result.stderr


def test_wrong_url_wrong_key_down_and_unknown_model_give_one_line(
    fake_owui,
    model_upstream,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    owui = OwuiTarget("fake", fake_owui.url, fake_owui.api_key, model_upstream)
    down = run_bridge(["chat"], settings(owui, tmp_path, OPENWEBUI_URL=f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert_one_clear_line(down, "unreachable")
    wrong_path = run_bridge(["chat"], settings(owui, tmp_path, OPENWEBUI_URL=owui.url + "/webui"), tmp_path)
    assert_one_clear_line(wrong_path, "OPENWEBUI_URL")
    wrong_key = run_bridge(["chat"], settings(owui, tmp_path, OPENWEBUI_API_KEY="sk-wrong-key-0000"), tmp_path)
    assert_one_clear_line(wrong_key, "OPENWEBUI_API_KEY")
    assert "sk-wrong-key-0000" not in wrong_key.stderr + wrong_key.stdout
    unknown = run_bridge(["chat", "--model", "nope-7b"], settings(owui, tmp_path), tmp_path)
    assert_one_clear_line(unknown, "nope-7b")
    check_down = run_bridge(
        ["check"], settings(owui, tmp_path, OPENWEBUI_URL=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    assert check_down.returncode == 1 and "FAILED" in check_down.stdout


def test_config_errors_name_the_variable(tmp_path: Path) -> None:
    missing = run_bridge(["chat"], {}, tmp_path)
    assert_one_clear_line(missing, "OPENWEBUI_API_KEY")
    bad = run_bridge(["check"], {"OPENWEBUI_API_KEY": "sk-x", "OPENWEBUI_URL": "localhost:8080"}, tmp_path)
    assert_one_clear_line(bad, "OPENWEBUI_URL", "http://")
    slack = run_bridge(["run"], {"OPENWEBUI_API_KEY": "sk-x", "SLACK_BOT_TOKEN": "xoxb-1"}, tmp_path)
    assert_one_clear_line(slack, "SLACK_APP_TOKEN")


def test_migrate_and_run_without_platforms(tmp_path: Path) -> None:
    db = tmp_path / "state" / "bridge.db"
    migrated = run_bridge(["migrate"], {"BRIDGE_DB_PATH": str(db)}, tmp_path)
    assert migrated.returncode == 0 and db.exists(), migrated.stderr
    idle = run_bridge(["run"], {"OPENWEBUI_API_KEY": "sk-x", "BRIDGE_DB_PATH": str(db)}, tmp_path)
    assert idle.returncode == 1 and "DISCORD_BOT_TOKEN" in idle.stderr and "bridge chat" in idle.stderr


def test_migrate_on_postgresql_and_a_wrong_url_named_without_its_password(tmp_path: Path, postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database()
    migrated = run_bridge(["migrate"], {"BRIDGE_DB_URL": url}, tmp_path)
    assert migrated.returncode == 0 and "database ready: postgresql://" in migrated.stdout, migrated.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 0
    wrong = f"postgresql://postgres:pw-s3cret@127.0.0.1:{free_port()}/bridge"
    refused = run_bridge(["migrate"], {"BRIDGE_DB_URL": wrong}, tmp_path)
    assert_one_clear_line(refused, "127.0.0.1", "BRIDGE_DB_URL")
    assert "pw-s3cret" not in refused.stdout + refused.stderr
    not_a_url = run_bridge(["migrate"], {"BRIDGE_DB_URL": "mysql://x"}, tmp_path)
    assert_one_clear_line(not_a_url, "BRIDGE_DB_URL", "postgresql://")


def test_a_database_that_cannot_be_used_stops_every_command_with_one_line(tmp_path: Path) -> None:
    """A damaged file, a folder where the file should be, and a file where its folder should be: each start
    ends with one line naming the database and what to do, and no traceback."""
    valid = tmp_path / "valid.db"
    assert run_bridge(["migrate"], {"BRIDGE_DB_PATH": str(valid)}, tmp_path).returncode == 0
    damaged = tmp_path / "damaged.db"  # a real database cut short, as a full disk or a bad copy leaves it
    damaged.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database " * 200)
    folder = tmp_path / "folder.db"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    env = {
        "OPENWEBUI_API_KEY": "sk-x",
        "OPENWEBUI_URL": f"http://127.0.0.1:{free_port()}",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
    }
    cases = [
        (garbage, ["migrate", "chat", "run"], "restore it from a backup"),
        (damaged, ["run"], "restore it from a backup"),
        (folder, ["run", "migrate"], "check that"),
        (a_file / "bridge.db", ["chat"], "check that"),
    ]
    for path, commands, action in cases:
        for command in commands:
            result = run_bridge([command], {**env, "BRIDGE_DB_PATH": str(path)}, tmp_path)
            assert_one_clear_line(result, str(path), action)


@pytest.mark.contract
def test_check_signs_in_the_service_account(real_owui: RealOpenWebUI, model_upstream, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = real_owui.create_user(role="admin")  # its own sign-in budget (15 in 3 minutes per email)
    assert user.api_key is not None
    owui = OwuiTarget("real", real_owui.base_url, user.api_key, model_upstream)
    account = {"OPENWEBUI_EMAIL": user.email, "OPENWEBUI_PASSWORD": user.password}
    signed = run_bridge(["check"], settings(owui, tmp_path, **account), tmp_path)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert f"signed in as {user.email}" in signed.stdout
    wrong = {**account, "OPENWEBUI_PASSWORD": "not-it-0000"}
    refused = run_bridge(["check"], settings(owui, tmp_path, **wrong), tmp_path)
    assert refused.returncode == 1 and "sign-in FAILED" in refused.stdout and "OPENWEBUI_PASSWORD" in refused.stdout
    assert "not-it-0000" not in refused.stdout + refused.stderr
    unset = run_bridge(["check"], settings(owui, tmp_path), tmp_path)
    assert "turns: pass-through" in unset.stdout
