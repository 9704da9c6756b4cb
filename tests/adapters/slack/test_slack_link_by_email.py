"""`BRIDGE_LINK_BY_EMAIL` on Slack (issue 12): a person who linked no key acts as the OpenWebUI user of their
verified Slack email, signed in through OpenWebUI's trusted email header. Real slack-bolt on the simulator
(whose `users.info` shows emails only with `users:read.email`), the fake OpenWebUI's trusted-header sign-in
and user search, both checked against the real server in `test_slack_link_by_email_contract.py`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.identity.by_email import RENEW_BEFORE, EmailSignIn
from bridge.identity.vault import make_key
from bridge.openwebui import OpenWebUIClient
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.slack.config import DEFAULT_BOT_SCOPES
from tests.adapters.slack.conftest import SlackBridge

GENERAL = "C0GENERAL"
HEADER = "X-Forwarded-Email"


@pytest.fixture
def trusting(fake_owui: FakeOpenWebUI) -> Iterator[FakeOpenWebUI]:
    """The session's fake OpenWebUI trusts `HEADER` for this test only."""
    fake_owui.trusted_email_header = HEADER
    yield fake_owui
    fake_owui.trusted_email_header = ""


async def _on(bridge: SlackBridge, policy: str, *, email_scope: bool = True) -> None:
    bridge.identity = {"identity_policy": policy, "encryption_key": make_key(), "link_by_email": True}
    bridge.trusted_email_header = HEADER
    bridge.sim.set_bot_scopes(set(DEFAULT_BOT_SCOPES) | ({"users:read.email"} if email_scope else set()))
    await bridge.restart()


def _person(bridge: SlackBridge, name: str) -> tuple[str, str]:
    """A new Slack member with a confirmed email no other test uses: (Slack id, email)."""
    user_id, email = f"U0{name.upper()}{uuid.uuid4().hex[:6].upper()}", f"{name}-{uuid.uuid4().hex[:8]}@example.test"
    bridge.sim.add_user(user_id, name, email=email)
    return user_id, email


async def _whoami(bridge: SlackBridge, user: str) -> str:
    invocation = await bridge.sim.slash_command("/owui", "whoami", user, GENERAL)
    [answer] = await invocation.wait_responses(1)
    return answer.text


async def _ask(bridge: SlackBridge, user: str, text: str) -> Any:
    """`user` mentions the app in #general; the posted message, once the bridge settled."""
    posted = await bridge.sim.user_mentions_app(GENERAL, user, text)
    await bridge.settle()
    return posted


def _signins(owui: FakeOpenWebUI) -> int:
    return sum(path == "/api/v1/auths/signin" for _, _, path in owui.requests)


async def test_a_verified_email_acts_as_its_openwebui_user_and_an_unknown_one_as_the_service(
    slack_bridge: SlackBridge, trusting: FakeOpenWebUI
) -> None:
    sim = slack_bridge.sim
    await _on(slack_bridge, "mixed")
    carol, carol_email = _person(slack_bridge, "carol")
    dave, dave_email = _person(slack_bridge, "dave")
    key = trusting.add_user("Carol Owui", carol_email)

    whoami = await _whoami(slack_bridge, carol)
    assert "Carol Owui" in whoami and "mapped by email" in whoami
    posted = await _ask(slack_bridge, carol, "carol by email")
    assert sim.bot_messages(GENERAL, posted.ts) == ["echo: carol by email"]
    assert any("carol by email" in str(chat) for chat in trusting.chats_of(key)), "in Carol's own history"
    assert not any("carol by email" in str(chat) for chat in trusting.chats_of(trusting.api_key))

    posted = await _ask(slack_bridge, dave, "dave unknown")
    assert sim.bot_messages(GENERAL, posted.ts) == ["echo: dave unknown"], "mixed: the service account answers"
    assert any("dave unknown" in str(chat) for chat in trusting.chats_of(trusting.api_key))
    assert not any(user.email == dave_email for user in trusting.users.values()), "no OpenWebUI account is made"
    assert "not linked" in await _whoami(slack_bridge, dave)


async def test_linked_only_refuses_an_unknown_email_and_no_scope_or_unconfirmed_means_no_email(
    slack_bridge: SlackBridge, trusting: FakeOpenWebUI
) -> None:
    sim = slack_bridge.sim
    await _on(slack_bridge, "linked")
    dave, _ = _person(slack_bridge, "dave")
    await _ask(slack_bridge, dave, "dave refused")
    assert any("`/owui link` first" in e["text"] for e in sim.ephemerals(GENERAL, dave))
    assert not slack_bridge.upstream.asked("dave refused")

    await _on(slack_bridge, "mixed", email_scope=False)
    erin, erin_email = _person(slack_bridge, "erin")
    key = trusting.add_user("Erin Owui", erin_email)
    assert "not linked" in await _whoami(slack_bridge, erin), "without users:read.email Slack shows no email"
    await _ask(slack_bridge, erin, "erin without scope")
    assert not any("erin without scope" in str(chat) for chat in trusting.chats_of(key))

    await _on(slack_bridge, "mixed")
    assert "mapped by email" in await _whoami(slack_bridge, erin)
    sim.ws.users[erin].email_confirmed = False
    await slack_bridge.restart()  # a fresh users.info cache
    assert "not linked" in await _whoami(slack_bridge, erin), "an unconfirmed email maps nobody"


async def test_a_refused_session_is_told_privately_and_the_next_message_signs_in_again(
    slack_bridge: SlackBridge, trusting: FakeOpenWebUI
) -> None:
    sim = slack_bridge.sim
    await _on(slack_bridge, "mixed")
    carol, carol_email = _person(slack_bridge, "carol")
    key = trusting.add_user("Carol Owui", carol_email)
    await _ask(slack_bridge, carol, "first as carol")
    for token in [t for t, user in trusting.users.items() if user.email == carol_email and t != key]:
        del trusting.users[token]  # an admin revoked her sessions

    posted = await _ask(slack_bridge, carol, "after revoking")
    notes = [e["text"] for e in sim.ephemerals(GENERAL, carol)]
    assert any("refused the session of your email's account" in note for note in notes)
    assert not any("echo:" in text for text in sim.bot_messages(GENERAL, posted.ts)), "not answered as anyone else"

    posted = await _ask(slack_bridge, carol, "signed in again")
    assert sim.bot_messages(GENERAL, posted.ts) == ["echo: signed in again"]
    assert any("signed in again" in str(chat) for chat in trusting.chats_of(key))

    grace, grace_email = _person(slack_bridge, "grace")
    trusting.add_user("Grace Owui", grace_email)
    trusting.down = True
    try:
        assert "did not answer when the bridge signed you in" in await _whoami(slack_bridge, grace)
    finally:
        trusting.down = False


async def test_a_session_is_kept_until_near_its_expiry_and_never_logged(
    trusting: FakeOpenWebUI, caplog: pytest.LogCaptureFixture
) -> None:
    email = f"frank-{uuid.uuid4().hex[:8]}@example.test"
    trusting.add_user("Frank", email)
    now = [1_000_000.0]
    caplog.set_level(logging.DEBUG)
    async with OpenWebUIClient(trusting.url, trusting.api_key) as client:
        sign_in = EmailSignIn(client, HEADER, clock=lambda: now[0])
        before = _signins(trusting)
        first = await sign_in.session(email.upper())
        assert first is not None and first.token.startswith("eyJ") and first.name == "Frank"
        assert await sign_in.session(email) == first and _signins(trusting) == before + 1, "cached"
        expires = trusting.session_expiry[first.token]
        now[0] = expires - RENEW_BEFORE + 1
        second = await sign_in.session(email)
        assert second is not None and second.token != first.token and _signins(trusting) == before + 2
        assert await sign_in.session("nobody-" + email) is None
    assert not any(first.token in r.getMessage() or second.token in r.getMessage() for r in caplog.records)
