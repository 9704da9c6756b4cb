"""The real-OpenWebUI harness without a server: what it says when OpenWebUI is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.openwebui_server import OpenWebUIUnavailable, RealOpenWebUI


def test_missing_install_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OWUI_VENV", str(tmp_path / "absent"))
    with pytest.raises(OpenWebUIUnavailable, match=r"scripts/install-openwebui\.sh"):
        RealOpenWebUI("http://127.0.0.1:9/v1").start()


def test_ci_refuses_to_skip_the_contract_suite() -> None:
    env = {**os.environ, "CI": "true", "BRIDGE_SKIP_CONTRACT": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/simulators"],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "BRIDGE_SKIP_CONTRACT is refused in CI" in run.stdout + run.stderr
