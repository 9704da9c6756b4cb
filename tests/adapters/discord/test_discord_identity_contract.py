"""Each person as themselves on Discord, against a real OpenWebUI 0.12.4 (issue 12): real discord.py on the
simulator, two OpenWebUI users (`tests.identity_team`). Each sees only the models and knowledge bases
OpenWebUI gives them, their chats land in their own history, a speaker in someone else's thread is named
to the model and refused privately a model their OpenWebUI withholds, a deleted key gets a private note
and no answer, and the unlinked use the service account under `mixed`."""

from __future__ import annotations

import httpx
import pytest

from bridge.identity.vault import make_key
from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from bridge.openwebui import chat as chats
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_server import RealOpenWebUI
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World
from tests.adapters.discord.test_discord_identity import link as discord_link
from tests.identity_team import Team, as_ada, team, use_shared_model

pytestmark = pytest.mark.contract
__all__ = ["as_ada", "team"]


async def start_mixed(bridge: DiscordBridge, world: World, team: Team) -> None:
    """Start with the `mixed` policy, #general on the model both users may use."""
    bridge.identity = {"identity_policy": "mixed", "encryption_key": make_key()}
    await bridge.start()
    general = ConversationKey("discord", str(world.guild.id), str(world.general.id))
    await use_shared_model(bridge.app and bridge.app.core, team, general)


async def test_discord_each_person_sees_and_stores_only_their_own(
    discord_bridge_on_real_owui: DiscordBridge,
    world: World,
    real_owui: RealOpenWebUI,
    team: Team,
    as_ada: OpenWebUIClient,
    model_upstream: ModelUpstream,
) -> None:
    bridge, sim = discord_bridge_on_real_owui, discord_bridge_on_real_owui.sim
    await start_mixed(bridge, world, team)
    bo_user = await sim.create_user("bo")
    await sim.add_member(world.guild, bo_user)
    assert team.ada.api_key and team.bo.api_key
    linked = await discord_link(sim, world.general, world.alice, team.ada.api_key)
    assert linked.original_message is not None and team.ada.email in linked.original_message.content
    await discord_link(sim, world.general, bo_user, team.bo.api_key)

    async def shown(user: object, command: str) -> str:
        interaction = await sim.run_slash_command(world.general, user, command)  # type: ignore[arg-type]
        await sim.wait_for_response(interaction, final=True, timeout=15)
        assert interaction.original_message is not None
        return interaction.original_message.content

    assert team.secret in await shown(world.alice, "model") and team.secret not in await shown(bo_user, "model")
    assert team.kb_name in await shown(world.alice, "kb list")
    assert team.kb_name not in await shown(bo_user, "kb list")

    question = await bridge.ask(world.general, world.alice, "ada's own question", timeout=30)
    thread = sim.thread_of(question)
    assert thread is not None and sim.bot_messages(thread)[-1].content == "echo: ada's own question"
    mine = await extras.list_chats(as_ada)
    assert any(c["title"].startswith("ada's own question") for c in mine), "in Ada's own history"
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as admin:
        assert not any(c["title"].startswith("ada's own question") for c in await extras.list_chats(admin))

    # Bo speaks in Ada's thread: his name reaches the model; the turn is written into Ada's chat.
    follow = await sim.user_says(thread, bo_user, "bo joins in")
    await bridge.wait_answered(follow, timeout=30)
    request = model_upstream.asked("bo joins in")[-1]
    assert [m.get("name") for m in request.messages if m.get("role") == "user"] == ["alice", "bo"]
    [chat_id] = [c["id"] for c in await extras.list_chats(as_ada) if c["title"].startswith("ada's own question")]
    chat = chats.readable((await as_ada.get_chat(chat_id))["chat"])
    assert chat is not None
    assert [m.get("name") for m in chats.chain(chat) if m["role"] == "user"] == ["alice", "bo"]

    # Ada's thread on her secret model: Bo's OpenWebUI may not use it, so he is told privately.
    assert bridge.app is not None
    await bridge.app.core.set_model(
        ConversationKey("discord", str(world.guild.id), str(thread.parent_id), str(thread.id)), team.secret
    )
    denied = await sim.user_says(thread, bo_user, "bo on the secret model")
    await bridge.wait_answered(denied, timeout=30)
    dm = await sim.create_dm(bo_user)
    await sim.wait_until(lambda: sim.bot_messages(dm), 10, "Bo's private note")
    assert team.secret in sim.bot_messages(dm)[-1].content and not model_upstream.asked("bo on the secret model")


async def test_discord_a_deleted_key_is_refused_privately_and_the_unlinked_use_the_service_account(
    discord_bridge_on_real_owui: DiscordBridge,
    world: World,
    real_owui: RealOpenWebUI,
    team: Team,
    model_upstream: ModelUpstream,
) -> None:
    bridge, sim = discord_bridge_on_real_owui, discord_bridge_on_real_owui.sim
    await start_mixed(bridge, world, team)
    carol = real_owui.create_user()
    assert carol.api_key is not None
    await discord_link(sim, world.general, world.alice, carol.api_key)
    async with httpx.AsyncClient(base_url=real_owui.base_url, headers={"Authorization": f"Bearer {carol.jwt}"}) as own:
        (await own.delete("/api/v1/auths/api_key")).raise_for_status()
    await bridge.ask(world.general, world.alice, "with a deleted key", timeout=30)
    dm = await sim.create_dm(world.alice)
    await sim.wait_until(lambda: sim.bot_messages(dm), 15, "the private note")
    assert "link it again" in sim.bot_messages(dm)[-1].content
    assert not model_upstream.asked("with a deleted key"), "never answered with another key"

    dave = await sim.create_user("dave")
    await sim.add_member(world.guild, dave)
    await bridge.ask(world.general, dave, "dave has no link", timeout=30)
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as admin:
        assert any(c["title"].startswith("dave has no link") for c in await extras.list_chats(admin))
