"""Fixtures for the contract suite against a real OpenWebUI 0.12.4.

``real_owui`` (session) and ``model_upstream`` (session) live in ``tests/conftest.py`` so the engine tests
outside this folder share the same server: a second definition here would start a second OpenWebUI
(about 25 s) in a full run. ``contract_upstream`` is the name the contract tests use for that upstream.

Both are synchronous objects (the upstream serves from its own thread and event loop, OpenWebUI is a
subprocess), so async tests on any event loop can use them; pytest-asyncio gives each test its own loop,
and a session-scoped async fixture would tie every test to the session loop instead.
Without the OpenWebUI virtualenv ``real_owui`` fails and says how to install it; ``BRIDGE_SKIP_CONTRACT=1``
turns that into a skip, except in CI (``CI=true``), where the variable stops the run.
"""

from __future__ import annotations

import pytest

from simulators.model_upstream import ModelUpstream


@pytest.fixture(scope="session")
def contract_upstream(model_upstream: ModelUpstream) -> ModelUpstream:
    """The deterministic model provider the session's real OpenWebUI talks to."""
    return model_upstream
