"""`bridge chat` under an identity policy: the terminal's user links no account, so `mixed` answers through
the service key and `linked` says why it does not answer, instead of printing nothing."""

from __future__ import annotations

from pathlib import Path

from bridge.identity.vault import make_key
from tests.conftest import OwuiTarget
from tests.test_cli import run_bridge, settings


def test_the_terminal_follows_the_policy(owui: OwuiTarget, tmp_path: Path) -> None:
    key = make_key()
    mixed = run_bridge(
        ["chat"],
        settings(owui, tmp_path, BRIDGE_IDENTITY_POLICY="mixed", BRIDGE_ENCRYPTION_KEY=key),
        tmp_path,
        stdin="hello as the service\n/quit\n",
    )
    assert mixed.returncode == 0 and "echo: hello as the service" in mixed.stdout, mixed.stderr
    linked = run_bridge(
        ["chat"],
        settings(owui, tmp_path, BRIDGE_IDENTITY_POLICY="linked", BRIDGE_ENCRYPTION_KEY=key),
        tmp_path,
        stdin="hello unlinked\n/quit\n",
    )
    assert linked.returncode == 0 and "only people who linked their OpenWebUI account" in linked.stdout
    assert "echo: hello unlinked" not in linked.stdout
