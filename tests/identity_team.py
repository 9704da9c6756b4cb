"""Two OpenWebUI users for the identity contract tests (issue 12), made through the real server's admin API:
a model and a knowledge base only `ada` may use, a model both may use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bridge.core import Core
from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from simulators.openwebui_server import OwuiUser, RealOpenWebUI


@dataclass
class Team:
    """Two OpenWebUI users: `ada` may use the `secret` model and read the private knowledge base, `bo` not;
    both may use `shared`. Names are unique per team: each test module makes its own on the session's server."""

    ada: OwuiUser
    bo: OwuiUser
    shared: str
    secret: str
    kb_name: str


def _admin(real: RealOpenWebUI) -> httpx.Client:
    return httpx.Client(base_url=real.base_url, headers={"Authorization": f"Bearer {real.jwt}"}, timeout=30)


@pytest.fixture(scope="module")
def team(real_owui: RealOpenWebUI) -> Team:
    ada, bo = real_owui.create_user(), real_owui.create_user()
    everyone = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
    only_ada = [{"principal_type": "user", "principal_id": ada.id, "permission": "read"}]
    tag = ada.id[:8]
    shared, secret, kb_name = f"team-echo-{tag}", f"secret-echo-{tag}", f"Ada private docs {tag}"
    with _admin(real_owui) as admin:
        # A preset needs read access to its base model too, and a connection's model without a row in
        # OpenWebUI's model table is admin-only: register echo-1 for everyone (once per session's server).
        base = {"id": "echo-1", "name": "echo-1", "meta": {}, "params": {}, "access_grants": everyone}
        if admin.get("/api/v1/models/model", params={"id": "echo-1"}).status_code != 200:
            admin.post("/api/v1/models/create", json=base).raise_for_status()
        for model_id, grants in ((shared, everyone), (secret, only_ada)):
            body = {
                "id": model_id,
                "base_model_id": "echo-1",
                "name": model_id,
                "meta": {},
                "params": {},
                "access_grants": grants,
            }
            admin.post("/api/v1/models/create", json=body).raise_for_status()
        kb = {"name": kb_name, "description": "only Ada", "access_grants": only_ada}
        admin.post("/api/v1/knowledge/create", json=kb).raise_for_status()
    return Team(ada, bo, shared, secret, kb_name)


@pytest.fixture
async def as_ada(real_owui: RealOpenWebUI, team: Team) -> AsyncIterator[OpenWebUIClient]:
    assert team.ada.api_key is not None
    async with OpenWebUIClient(real_owui.base_url, team.ada.api_key) as client:
        yield client


async def use_shared_model(core: Core | None, team: Team, key: ConversationKey) -> None:
    """Make `key`'s channel use the model both users may use (the service account, an admin, sets it)."""
    assert core is not None
    await core.set_model(key, team.shared)
