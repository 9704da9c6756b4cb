"""Each person as themselves, on Slack: `/owui link` opens a modal (`views.open` with the command's
trigger), its submission is checked before it is acknowledged (errors keep the form open), `whoami` and
`unlink` answer ephemerally, turns run with the person's key, a refused key gets an ephemeral note, and
the model hears who speaks. Real slack-bolt against the simulator; the fake OpenWebUI's users are checked
against the real server in `tests/contract/test_identity_contract.py`."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from bridge.identity.vault import make_key
from bridge.openwebui import chat as chats
from simulators.slack.views import OpenView
from tests.adapters.slack.conftest import SlackBridge

GENERAL, ALICE, BOB = "C0GENERAL", "U0ALICE", "U0BOB"


async def _on(bridge: SlackBridge, policy: str = "mixed") -> None:
    bridge.identity = {"identity_policy": policy, "encryption_key": make_key()}
    await bridge.restart()


async def _form(bridge: SlackBridge, user: str) -> OpenView:
    before = len(bridge.sim.opened_views(user))
    invocation = await bridge.sim.slash_command("/owui", "link", user, GENERAL)
    assert await invocation.acked()
    assert await bridge.sim.wait_for(lambda: len(bridge.sim.opened_views(user)) > before)
    return bridge.sim.opened_views(user)[-1]


async def link(bridge: SlackBridge, user: str, key: str) -> OpenView:
    form = await _form(bridge, user)
    await bridge.sim.user_submits_view(form, {"api_key": key})
    return form


async def _ephemeral(bridge: SlackBridge, user: str, text: str) -> str:
    invocation = await bridge.sim.slash_command("/owui", text, user, GENERAL)
    [answer] = await invocation.wait_responses(1)
    assert answer.response_type == "ephemeral"
    return answer.text


async def test_link_in_a_modal_whoami_unlink_and_turns_as_the_person(slack_bridge: SlackBridge) -> None:
    sim, owui = slack_bridge.sim, slack_bridge.owui
    await _on(slack_bridge)
    key = owui.add_user("Alice Smith")
    assert "not linked" in await _ephemeral(slack_bridge, ALICE, "whoami")

    form = await _form(slack_bridge, ALICE)
    await sim.user_submits_view(form, {"api_key": "sk-" + "0" * 32})
    assert not form.closed and "refused that key" in form.errors["key"], "a refused key keeps the form open"
    await sim.user_submits_view(form, {"api_key": key})
    assert form.errors == {} and "Alice Smith" in str(form.shown[-1])
    assert "Alice Smith" in await _ephemeral(slack_bridge, ALICE, "whoami")
    sent = [str(call.params) for call in sim.calls()]
    assert not any(key in text for text in sent), "the key is never sent back to Slack"

    posted = await sim.user_mentions_app(GENERAL, ALICE, "mine on slack")
    await slack_bridge.settle()
    assert sim.bot_messages(GENERAL, posted.ts) == ["echo: mine on slack"]
    [chat] = [c for c in owui.chats_of(key) if "mine on slack" in str(c)]
    assert chats.chain(chat)[0]["name"] == "alice"

    assert "forgot your key" in await _ephemeral(slack_bridge, ALICE, "unlink")
    assert "not linked" in await _ephemeral(slack_bridge, ALICE, "whoami")


async def test_a_trigger_opens_one_modal_within_three_seconds(slack_bridge: SlackBridge) -> None:
    """The simulator keeps Slack's trigger rules (the adapter opens its form in time)."""
    sim = slack_bridge.sim
    await _on(slack_bridge)
    form = await _form(slack_bridge, ALICE)
    [opened] = [c for c in sim.calls("views.open") if c.ok]
    client = slack_bridge.adapter.client  # type: ignore[union-attr]
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id=str(opened.params["trigger_id"]), view=form.view)
    assert refused.value.response["error"] == "exchanged_trigger_id"
    late = await sim.slash_command("/owui", "help", ALICE, GENERAL)
    await late.wait_responses(1)
    trigger = late.delivery.payload["trigger_id"]
    sim.web_api.views.triggers[trigger].issued -= 3.5  # the app took longer than Slack's 3 s
    with pytest.raises(SlackApiError) as expired:
        await client.views_open(trigger_id=trigger, view=form.view)
    assert expired.value.response["error"] == "expired_trigger_id"
    fresh = await sim.slash_command("/owui", "help", ALICE, GENERAL)
    await fresh.wait_responses(1)
    too_long = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}}
    with pytest.raises(SlackApiError) as bad:
        await client.views_open(trigger_id=fresh.delivery.payload["trigger_id"], view=too_long)
    assert bad.value.response["error"] == "invalid_arguments"


async def test_a_revoked_key_gets_an_ephemeral_note_and_no_answer(slack_bridge: SlackBridge) -> None:
    sim, owui = slack_bridge.sim, slack_bridge.owui
    await _on(slack_bridge)
    key = owui.add_user("Alice")
    await link(slack_bridge, ALICE, key)
    owui.revoke(key)
    asked = len(slack_bridge.upstream.requests)
    posted = await sim.user_mentions_app(GENERAL, ALICE, "after revoking")
    await slack_bridge.settle()
    notes = [e["text"] for e in sim.ephemerals(GENERAL, ALICE)]
    assert any("link it again with `/owui link`" in note for note in notes)
    assert len(slack_bridge.upstream.requests) == asked
    assert not any("echo:" in text for text in sim.bot_messages(GENERAL, posted.ts))


async def test_linked_only_refuses_others_privately_and_a_thread_carries_both_names(slack_bridge: SlackBridge) -> None:
    sim, owui = slack_bridge.sim, slack_bridge.owui
    await _on(slack_bridge, "linked")
    posted = await sim.user_mentions_app(GENERAL, BOB, "bob unlinked")
    await slack_bridge.settle()
    assert any("`/owui link` first" in e["text"] for e in sim.ephemerals(GENERAL, BOB))
    assert not slack_bridge.upstream.asked("bob unlinked")
    assert "`/owui link` first" in await _ephemeral(slack_bridge, BOB, "kb list")

    await link(slack_bridge, ALICE, owui.add_user("Alice"))
    await link(slack_bridge, BOB, owui.add_user("Bob"))
    posted = await sim.user_mentions_app(GENERAL, ALICE, "alice starts")
    await slack_bridge.settle()
    await sim.user_posts(GENERAL, BOB, "bob follows", thread_ts=posted.ts)
    await slack_bridge.settle()
    request = slack_bridge.upstream.asked("bob follows")[-1]
    assert [m.get("name") for m in request.messages if m.get("role") == "user"] == ["alice", "bob"]
