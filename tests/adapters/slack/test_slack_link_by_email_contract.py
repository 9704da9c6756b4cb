"""`BRIDGE_LINK_BY_EMAIL` against a real OpenWebUI 0.12.4 started with `WEBUI_AUTH_TRUSTED_EMAIL_HEADER` (issue 12).

The session's shared server trusts no header, so this module starts its own (about 25 s) by overriding
`real_owui` here; `team` (two users made through the admin API, a model only `ada` may use) and
`slack_bridge_on_real_owui` then run on it. The first test pins the server facts the bridge and the fake
OpenWebUI rely on; the second is the whole path: Slack's verified email → OpenWebUI's user of that email.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bridge.identity.vault import make_key
from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_server import RealOpenWebUI
from simulators.slack.config import DEFAULT_BOT_SCOPES
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge
from tests.identity_team import Team, as_ada, team, use_shared_model

pytestmark = [pytest.mark.contract, pytest.mark.slow]  # a real OpenWebUI of its own (a trusted header)
__all__ = ["as_ada", "team"]

HEADER = "X-Forwarded-Email"
GENERAL = "C0GENERAL"


@pytest.fixture(scope="module")
def real_owui(owui_installed: Path, model_upstream: ModelUpstream) -> Iterator[RealOpenWebUI]:
    """A server of this module's own that trusts `HEADER` (what the bridge's operator sets up)."""
    with RealOpenWebUI(model_upstream.base_url, extra_env={"WEBUI_AUTH_TRUSTED_EMAIL_HEADER": HEADER}) as server:
        yield server


async def test_the_trusted_header_facts_the_bridge_and_the_fake_rely_on(real_owui: RealOpenWebUI, team: Team) -> None:
    """Any verified key may search users by email; the header signs in as that email's user and answers a
    session token with `expires_at`, which works as a bearer like a key; an unknown email is *created*
    (pending), which is why the bridge searches first; no header is a 400; a revoked session a 401 that the
    client reads as a refused credential (the fake answers an expired one "Invalid token")."""
    async with httpx.AsyncClient(base_url=real_owui.base_url, timeout=30) as http:
        bo = {"Authorization": f"Bearer {team.bo.api_key}"}
        found = (await http.get("/api/v1/users/search", params={"query": team.ada.email}, headers=bo)).json()
        assert [(u["id"], u["email"], u["role"]) for u in found["users"]] == [(team.ada.id, team.ada.email, "user")]

        signin = {"email": team.ada.email, "password": ""}
        session = (await http.post("/api/v1/auths/signin", json=signin, headers={HEADER: team.ada.email})).json()
        assert (session["id"], session["email"]) == (team.ada.id, team.ada.email) and session["token"].startswith("eyJ")
        assert isinstance(session["expires_at"], int)
        as_her = {"Authorization": f"Bearer {session['token']}"}
        models = {m["id"] for m in (await http.get("/api/models", headers=as_her)).json()["data"]}
        assert team.secret in models and "vision-1" not in models

        stranger = "stranger@bridge.test"
        made = (await http.post("/api/v1/auths/signin", json=signin, headers={HEADER: stranger})).json()
        assert made["email"] == stranger and made["role"] == "pending"

        missing = await http.post("/api/v1/auths/signin", json=signin)
        assert missing.status_code == 400 and "trusted header" in missing.json()["detail"]
        admin = {"Authorization": f"Bearer {real_owui.jwt}"}
        (await http.post(f"/api/v1/users/{team.ada.id}/sessions/revoke", headers=admin)).raise_for_status()
        revoked = await http.get("/api/models", headers=as_her)
        detail = revoked.json()["detail"].lower()
        assert revoked.status_code == 401 and any(word in detail for word in ("token", "unauthorized")), detail


async def test_slack_email_acts_as_its_openwebui_user_and_an_unknown_one_follows_the_policy(
    slack_bridge_on_real_owui: SlackBridge, team: Team, as_ada: OpenWebUIClient, real_owui: RealOpenWebUI
) -> None:
    bridge, sim = slack_bridge_on_real_owui, slack_bridge_on_real_owui.sim
    sim.ws.users["U0ALICE"].email = team.ada.email
    unknown = sim.ws.users["U0BOB"].email
    sim.set_bot_scopes(set(DEFAULT_BOT_SCOPES) | {"users:read.email"})
    bridge.identity = {"identity_policy": "mixed", "encryption_key": make_key(), "link_by_email": True}
    bridge.trusted_email_header = HEADER
    await bridge.restart()
    await use_shared_model(bridge.app and bridge.app.core, team, ConversationKey("slack", sim.team_id, GENERAL))

    async def shown(user: str, text: str) -> str:
        invocation = await sim.slash_command("/owui", text, user, GENERAL)
        [answer] = await invocation.wait_responses(1, timeout=15)
        return answer.text

    whoami = await shown("U0ALICE", "whoami")
    assert "mapped by email" in whoami and team.ada.email in whoami
    models = await shown("U0ALICE", "model")
    assert team.secret in models and "vision-1" not in models, "only the models OpenWebUI gives her"

    posted = await sim.user_mentions_app(GENERAL, "U0ALICE", "ada by email")
    await bridge.settle(30)
    assert sim.bot_messages(GENERAL, posted.ts)[-1].startswith("echo:")
    assert any(c["title"].startswith("ada by email") for c in await extras.list_chats(as_ada)), "her own history"

    posted = await sim.user_mentions_app(GENERAL, "U0BOB", "bob unknown email")
    await bridge.settle(30)
    assert sim.bot_messages(GENERAL, posted.ts)[-1].startswith("echo:"), "mixed: the service account answers"
    admin = {"Authorization": f"Bearer {real_owui.jwt}"}
    async with httpx.AsyncClient(base_url=real_owui.base_url, timeout=30, headers=admin) as http:
        found = (await http.get("/api/v1/users/search", params={"query": unknown})).json()
    assert found["users"] == [], "the bridge made no OpenWebUI account for an unknown email"

    bridge.identity = {**bridge.identity, "identity_policy": "linked"}
    await bridge.restart()
    await sim.user_mentions_app(GENERAL, "U0BOB", "bob under linked")
    await bridge.settle(30)
    assert any("`/owui link` first" in e["text"] for e in sim.ephemerals(GENERAL, "U0BOB"))
    assert not bridge.upstream.asked("bob under linked")
