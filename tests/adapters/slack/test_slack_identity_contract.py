"""Each person as themselves on Slack, against a real OpenWebUI 0.12.4 (issue 12): real slack-bolt on the
simulator, two OpenWebUI users (`tests.identity_team`), the `linked` policy. Each sees only their own models
and knowledge bases, and in a thread with two speakers the model receives both names."""

from __future__ import annotations

import pytest

from bridge.identity.vault import make_key
from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from simulators.model_upstream import ModelUpstream
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge
from tests.adapters.slack.test_slack_identity import link as slack_link
from tests.identity_team import Team, as_ada, team, use_shared_model

pytestmark = pytest.mark.contract
__all__ = ["as_ada", "team"]


async def test_slack_each_person_sees_only_their_own_and_the_model_hears_both(
    slack_bridge_on_real_owui: SlackBridge,
    team: Team,
    as_ada: OpenWebUIClient,
    model_upstream: ModelUpstream,
) -> None:
    bridge, sim = slack_bridge_on_real_owui, slack_bridge_on_real_owui.sim
    bridge.identity = {"identity_policy": "linked", "encryption_key": make_key()}
    await bridge.restart()
    await use_shared_model(bridge.app and bridge.app.core, team, ConversationKey("slack", sim.team_id, "C0GENERAL"))
    assert team.ada.api_key and team.bo.api_key
    form = await slack_link(bridge, "U0ALICE", team.ada.api_key)
    assert team.ada.email in str(form.shown[-1])
    await slack_link(bridge, "U0BOB", team.bo.api_key)

    async def shown(user: str, text: str) -> str:
        invocation = await sim.slash_command("/owui", text, user, "C0GENERAL")
        [answer] = await invocation.wait_responses(1, timeout=15)
        return answer.text

    assert team.secret in await shown("U0ALICE", "model") and team.secret not in await shown("U0BOB", "model")
    assert team.kb_name in await shown("U0ALICE", "kb list") and team.kb_name not in await shown("U0BOB", "kb list")

    posted = await sim.user_mentions_app("C0GENERAL", "U0ALICE", "ada on slack")
    await bridge.settle(30)
    await sim.user_posts("C0GENERAL", "U0BOB", "bo on slack", thread_ts=posted.ts)
    await bridge.settle(30)
    request = model_upstream.asked("bo on slack")[-1]
    assert [m.get("name") for m in request.messages if m.get("role") == "user"] == ["alice", "bob"]
    assert any(c["title"].startswith("ada on slack") for c in await extras.list_chats(as_ada))
