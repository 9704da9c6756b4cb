"""The OpenWebUI 0.12.4 facts linking relies on (issue 12), on a real server with two users made through its
admin API; the fake OpenWebUI's users (`/api/v1/users/user/status`, chats per user, a 401 for an unknown
key) follow them. The adapters' contract tests are in tests/adapters/*/test_*_identity_contract.py."""

from __future__ import annotations

import httpx
import pytest

from simulators.openwebui_server import RealOpenWebUI
from tests.identity_team import Team, team

pytestmark = pytest.mark.contract
__all__ = ["team"]


async def test_the_facts_the_bridge_and_the_fake_rely_on(real_owui: RealOpenWebUI, team: Team) -> None:
    """`/api/v1/auths/` refuses keys; `/api/v1/users/user/status` names the key's user; models and knowledge
    follow the grants; another user's chat is a 401; a deleted key is a 401 that says the token is invalid."""
    async with httpx.AsyncClient(base_url=real_owui.base_url, timeout=30) as http:
        ada = {"Authorization": f"Bearer {team.ada.api_key}"}
        bo = {"Authorization": f"Bearer {team.bo.api_key}"}
        assert (await http.get("/api/v1/auths/", headers=ada)).status_code == 403
        status = (await http.get("/api/v1/users/user/status", headers=ada)).json()
        assert (status["id"], status["email"]) == (team.ada.id, team.ada.email) and status["name"]
        ada_models = {m["id"] for m in (await http.get("/api/models", headers=ada)).json()["data"]}
        bo_models = {m["id"] for m in (await http.get("/api/models", headers=bo)).json()["data"]}
        assert team.secret in ada_models and team.shared in ada_models and "vision-1" not in ada_models
        assert team.secret not in bo_models and team.shared in bo_models
        chat = (await http.post("/api/v1/chats/new", headers=ada, json={"chat": {"title": "ada's"}})).json()
        foreign = await http.get(f"/api/v1/chats/{chat['id']}", headers=bo)
        assert foreign.status_code == 401 and "token" not in foreign.text.lower()
        listed = {c["id"] for c in (await http.get("/api/v1/chats/list", headers=bo)).json()}
        assert chat["id"] not in listed
        refused = await http.get("/api/models", headers={"Authorization": "Bearer sk-" + "0" * 32})
        assert refused.status_code == 401 and "token is invalid" in refused.json()["detail"]
