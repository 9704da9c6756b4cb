"""The Discord simulator is driven by the real discord.py 2.7 client, unchanged, through its two seams."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import discord
import pytest
from discord import app_commands

from simulators.discord import (
    MESSAGES_SHARE_ONE_BUDGET,
    DiscordSimulator,
    RateLimitConfig,
    RouteLimit,
    SimFile,
    SimulatorConfig,
    SimUsageError,
)
from simulators.discord.server import BasicWorld
from simulators.discord.testing import bot_client, running_client

THIS_FILE = Path(__file__)
FAST_EDITS = RateLimitConfig().with_routes(message_edit=RouteLimit(5, 1.0))


def _auth(sim: DiscordSimulator) -> dict[str, str]:
    return {"Authorization": f"Bot {sim.token}", "Content-Type": "application/json"}


async def test_client_becomes_ready_and_sees_the_guild(discord_sim: DiscordSimulator) -> None:
    sim = discord_sim
    guild = await sim.create_guild("Acme")
    category = await sim.create_category(guild, "Support")
    help_desk = await sim.create_text_channel(guild, "help", category=category)
    await sim.create_role(guild, "staff", permissions=1 << 5)

    async with running_client(sim, bot_client()) as client:
        assert client.user is not None and client.user.id == sim.bot_user.id
        seen = client.get_guild(guild.id)
        assert seen is not None and seen.name == "Acme"
        channel = seen.get_channel(help_desk.id)
        assert isinstance(channel, discord.TextChannel)
        assert channel.category is not None and channel.category.id == category.id
        assert {r.name for r in seen.roles} >= {"@everyone", "staff"}
        assert seen.me is not None
        assert sim.identify_count == 1
        assert sim.gateway.compression_modes == ["zlib-stream"]
        assert [c.route for c in sim.calls()][:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]


async def test_a_shard_that_does_not_exist_is_refused_with_4010(discord_sim: DiscordSimulator) -> None:
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with running_client(discord_sim, bot_client(shard_id=2, shard_count=2)):
            pass
    assert closed.value.code == 4010
    assert discord_sim.identify_count == 0


async def test_a_sharded_session_gets_its_shards_servers_in_ready(discord_sim: DiscordSimulator) -> None:
    sim = discord_sim
    guilds = [await sim.create_guild("first")]
    while len({g.id >> 22 for g in guilds}) < 4:  # ids a millisecond apart fall on both shards of 2
        sim.advance_clock(0.001)
        guilds.append(await sim.create_guild("another"))
    for shard in (0, 1):
        async with running_client(sim, bot_client(shard_id=shard, shard_count=2)) as client:
            assert {g.id for g in client.guilds} == {g.id for g in guilds if (g.id >> 22) % 2 == shard}
    assert [s.shard for s in sim.gateway.sessions.values()] == [(0, 2), (1, 2)]


async def test_on_message_sees_content_only_with_the_intent_or_a_mention(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    dm = await sim.create_dm(world.user)
    received: list[tuple[str, bool]] = []
    client = bot_client(message_content=False)

    @client.event
    async def on_message(message: discord.Message) -> None:
        received.append((message.content, client.user in message.mentions))

    async with running_client(sim, client):
        await sim.user_says(world.channel, world.user, "no mention")
        await sim.user_says(world.channel, world.user, "with mention", mentions_bot=True)
        await sim.user_says(dm, world.user, "in a DM")
        await sim.wait_until(lambda: len(received) == 3, what="three messages")

    assert received == [("", False), (f"<@{sim.bot_user.id}> with mention", True), ("in a DM", False)]


async def test_bot_send_and_edit_are_recorded_as_versions(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author != client.user:
            reply = await message.channel.send(f"thinking about {message.content}")
            await reply.edit(content="final answer")

    async with running_client(sim, client):
        asked = await sim.user_says(world.channel, world.user, "life")
        [reply] = await sim.wait_for_bot_message(world.channel, predicate=lambda m: m.content == "final answer")

    history = sim.message_history(reply)
    assert [v.content for v in history] == ["thinking about life", "final answer"]
    assert history[0].at_monotonic < history[1].at_monotonic
    between = (history[0].at_monotonic + history[1].at_monotonic) / 2
    assert [(m.id, v.content) for m, v in sim.channel_view(world.channel, at=between)] == [
        (asked.id, "life"),
        (reply.id, "thinking about life"),
    ]
    assert sim.bot_texts(world.channel) == ["final answer"]
    edits = sim.calls("PATCH /channels/{channel_id}/messages/{message_id}", channel_id=world.channel)
    assert [(c.status, c.body["content"]) for c in edits] == [(200, "final answer")]


async def test_discord_errors_reach_discord_py_as_http_exceptions(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    user_message = await sim.user_says(world.channel, world.user, "mine")
    async with running_client(sim, bot_client()) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)

        with pytest.raises(discord.HTTPException) as too_long:
            await channel.send("x" * 2001)
        assert (too_long.value.status, too_long.value.code) == (400, 50035)
        assert "2000 or fewer" in too_long.value.text

        with pytest.raises(discord.HTTPException) as empty:
            await channel.send(embeds=[])
        assert empty.value.code == 50006

        with pytest.raises(discord.HTTPException) as big_embed:
            await channel.send(embed=discord.Embed(description="y" * 4097))
        assert big_embed.value.code == 50035

        with pytest.raises(discord.Forbidden) as not_mine:
            await channel.get_partial_message(user_message.id).edit(content="hijack")
        assert not_mine.value.code == 50005

        ok = await channel.send("x" * 2000)
        sim.advance_clock(3601)
        with pytest.raises(discord.HTTPException) as too_old:
            await ok.edit(content="late")
        assert too_old.value.code == 30046

    assert sim.bot_texts(world.channel) == ["x" * 2000]
    refused = [c for c in sim.calls(method="POST", channel_id=world.channel) if c.status == 400]
    assert [c.error_code for c in refused] == [50035, 50006, 50035]


@pytest.mark.parametrize("discord_sim_config", [SimulatorConfig(ratelimits=FAST_EDITS)])
async def test_discord_py_edit_burst_meets_no_429(discord_sim: DiscordSimulator, discord_sim_world: BasicWorld) -> None:
    sim, world = discord_sim, discord_sim_world
    async with running_client(sim, bot_client()) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("0")
        await asyncio.gather(*(message.edit(content=str(i)) for i in range(1, 13)))

    edits = sim.calls("PATCH /channels/{channel_id}/messages/{message_id}")
    assert len(edits) == 12 and all(c.status == 200 for c in edits)
    assert sim.count_429() == 0
    # 12 edits at 5 per second need three windows: discord.py waited on the headers instead of failing.
    assert edits[-1].at_monotonic - edits[0].at_monotonic >= 1.9
    assert len(sim.message_history(sim.bot_messages(world.channel)[0])) == 13


@pytest.mark.parametrize("discord_sim_config", [SimulatorConfig(ratelimits=FAST_EDITS)])
async def test_raw_burst_ignoring_headers_gets_discords_429(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    other = await sim.create_text_channel(world.guild, "other")
    url = f"{sim.rest_base}/channels/{world.channel.id}/messages"
    async with aiohttp.ClientSession(headers=_auth(sim)) as http:
        async with http.post(url, json={"content": "start"}) as created:
            message_id = (await created.json())["id"]
        answers = []
        for i in range(7):
            async with http.patch(f"{url}/{message_id}", json={"content": str(i)}) as response:
                answers.append((response.status, dict(response.headers), await response.json()))
        other_url = f"{sim.rest_base}/channels/{other.id}/messages"
        async with http.post(other_url, json={"content": "elsewhere"}) as elsewhere:
            assert elsewhere.status == 200

    assert [status for status, _, _ in answers] == [200] * 5 + [429] * 2
    assert [h["X-RateLimit-Remaining"] for _, h, _ in answers[:5]] == ["4", "3", "2", "1", "0"]
    _, headers, body = answers[5]
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 1.0
    assert headers["Content-Type"] == "application/json"
    assert headers["Via"] == "1.1 google"
    assert headers["X-RateLimit-Scope"] == "user"
    assert int(headers["Retry-After"]) >= 1
    assert headers["X-RateLimit-Bucket"] == answers[0][1]["X-RateLimit-Bucket"]
    assert float(headers["X-RateLimit-Reset"]) > time.time() - 0.01
    assert sim.count_429() == 2


@pytest.mark.parametrize(
    "discord_sim_config", [SimulatorConfig(ratelimits=RateLimitConfig(hidden_shared=MESSAGES_SHARE_ONE_BUDGET))]
)
async def test_hidden_shared_budget_answers_429_while_the_route_headers_show_room(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    """Posts and edits in one channel draw on one hidden 5 per 5 s: the sixth call of either is refused with
    `X-RateLimit-Scope: shared`, its own route still saying calls are left; other channels are untouched."""
    sim, world = discord_sim, discord_sim_world
    other = await sim.create_text_channel(world.guild, "other")
    url = f"{sim.rest_base}/channels/{world.channel.id}/messages"
    async with aiohttp.ClientSession(headers=_auth(sim)) as http:
        statuses = []
        for i in range(3):
            async with http.post(url, json={"content": str(i)}) as created:
                statuses.append(created.status)
                message_id = (await created.json())["id"]
        for i in range(3):
            async with http.patch(f"{url}/{message_id}", json={"content": f"edit {i}"}) as edited:
                statuses.append(edited.status)
                headers, body = dict(edited.headers), await edited.json()
        async with http.post(f"{sim.rest_base}/channels/{other.id}/messages", json={"content": "x"}) as elsewhere:
            assert elsewhere.status == 200

    assert statuses == [200] * 5 + [429]
    assert headers["X-RateLimit-Scope"] == "shared"
    assert headers["X-RateLimit-Remaining"] == "3", "the edit route's own window has room: 2 of 5 used"
    assert body["global"] is False and 0 < body["retry_after"] <= 5.0
    assert int(headers["Retry-After"]) >= 1 and headers["Via"] == "1.1 google"
    assert sim.count_429() == 1


async def test_no_hidden_budget_by_default(discord_sim: DiscordSimulator, discord_sim_world: BasicWorld) -> None:
    sim, world = discord_sim, discord_sim_world
    url = f"{sim.rest_base}/channels/{world.channel.id}/messages"
    async with aiohttp.ClientSession(headers=_auth(sim)) as http:
        async with http.post(url, json={"content": "start"}) as created:
            message_id = (await created.json())["id"]
        for i in range(5):
            async with http.patch(f"{url}/{message_id}", json={"content": str(i)}) as edited:
                assert edited.status == 200
    assert sim.count_429() == 0


@pytest.mark.parametrize(
    "discord_sim_config", [SimulatorConfig(ratelimits=RateLimitConfig(global_limit=5, global_per=1.0))]
)
async def test_global_limit_spans_routes(discord_sim: DiscordSimulator) -> None:
    sim = discord_sim
    async with aiohttp.ClientSession(headers=_auth(sim)) as http:
        statuses = []
        for path in ["/users/@me", "/gateway", "/users/@me", "/oauth2/applications/@me", "/gateway", "/users/@me"]:
            async with http.get(sim.rest_base + path) as response:
                statuses.append(response.status)
                body = await response.json()
        assert statuses == [200] * 5 + [429]
        assert body["global"] is True
        assert response.headers["X-RateLimit-Scope"] == "global"


async def test_unknown_route_and_bad_token(discord_sim: DiscordSimulator) -> None:
    sim = discord_sim
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.rest_base}/nope", headers=_auth(sim)) as response:
            assert response.status == 404
            assert await response.json() == {"message": "404: Not Found", "code": 0}
        async with http.get(f"{sim.rest_base}/users/@me", headers={"Authorization": "Bot wrong"}) as response:
            assert response.status == 401
            assert (await response.json())["code"] == 0

    with pytest.raises(discord.LoginFailure):
        await discord.Client(intents=discord.Intents.default()).login("wrong-token")


async def test_thread_from_message_dispatches_thread_create(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()
    threads: list[discord.Thread] = []
    created: list[discord.Thread] = []
    followups: list[str] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author == client.user:
            return
        if isinstance(message.channel, discord.Thread):
            followups.append(message.content)
            return
        thread = await message.create_thread(name=message.content[:50])
        threads.append(thread)
        await thread.send("answer in thread")
        await thread.edit(name="Renamed by title")

    @client.event
    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread)

    async with running_client(sim, client):
        question = await sim.user_says(world.channel, world.user, "what is a bridge?", mentions_bot=True)
        in_thread = await sim.wait_for_bot_message(question.id, timeout=5)
        await sim.wait_until(lambda: sim.channel(question.id).name == "Renamed by title", what="rename")
        await sim.user_says(question.id, world.user, "follow-up without mention")
        await sim.wait_until(lambda: followups, what="the follow-up")

    assert len(threads) == 1 and isinstance(threads[0], discord.Thread)
    assert threads[0].id == question.id and threads[0].parent_id == world.channel.id
    assert [t.id for t in created] == [question.id]
    assert sim.thread_of(question) is sim.channel(question.id)
    assert sim.threads(world.channel)[0].name == "Renamed by title"
    assert [m.content for m in in_thread] == ["answer in thread"]
    assert followups == ["follow-up without mention"]
    assert len(sim.gateway_events("THREAD_CREATE")) == 1


async def test_attachments_download_and_upload(discord_sim: DiscordSimulator, discord_sim_world: BasicWorld) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()
    downloaded: list[tuple[str, str | None, int, bytes]] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author == client.user:
            return
        for attachment in message.attachments:
            downloaded.append((attachment.filename, attachment.content_type, attachment.size, await attachment.read()))
        await message.channel.send("here", file=discord.File(str(THIS_FILE), filename="echo.py"))

    async with running_client(sim, client):
        notes = SimFile("notes.md", b"# Notes\nhello")
        await sim.user_says(world.channel, world.user, "see file", attachments=[notes])
        [reply] = await sim.wait_for_bot_message(world.channel)

    assert downloaded == [("notes.md", "text/markdown", 13, b"# Notes\nhello")]
    [uploaded] = [sim.state.attachments[a] for a in reply.attachment_ids]
    assert uploaded.filename == "echo.py" and uploaded.content_type == "text/x-python"
    assert uploaded.data == THIS_FILE.read_bytes()  # noqa: ASYNC240 - a test reading its own source
    assert uploaded.url.startswith(sim.base_url + "/attachments/")


async def test_slash_command_defer_and_edit(discord_sim: DiscordSimulator, discord_sim_world: BasicWorld) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(world.guild.id)
    kb = app_commands.Group(name="kb", description="Knowledge bases", guild_ids=[world.guild.id])

    @tree.command(name="ask", description="Ask a question", guild=guild)
    async def ask(interaction: discord.Interaction, question: str, private: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=private)
        await interaction.edit_original_response(content=f"answer to {question}")

    @kb.command(name="ask", description="Ask a knowledge base")
    async def kb_ask(interaction: discord.Interaction, kb: str, question: str) -> None:
        await interaction.response.send_message(f"{kb}: {question}")

    @kb_ask.autocomplete("kb")
    async def kb_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["docs", "design", "hr"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    tree.add_command(kb)

    async with running_client(sim, client):
        synced = await tree.sync(guild=guild)
        assert sorted(c.name for c in synced) == ["ask", "kb"]
        assert {c["name"] for c in sim.registered_commands(world.guild)} == {"ask", "kb"}

        asked = await sim.run_slash_command(world.channel, world.user, "ask", {"question": "why?"})
        await sim.wait_for_response(asked, final=True)
        secret = await sim.run_slash_command(world.channel, world.user, "ask", {"question": "hm", "private": True})
        await sim.wait_for_response(secret, final=True)
        choices = await sim.autocomplete(world.channel, world.user, "kb ask", {"kb": "d"}, focused="kb")
        direct = await sim.run_slash_command(world.channel, world.user, "kb ask", {"kb": "docs", "question": "q"})
        await sim.wait_for_response(direct)
        with pytest.raises(SimUsageError):
            await sim.run_slash_command(world.channel, world.user, "ask", {})

    assert [c.type for c in asked.callbacks] == [5]
    assert asked.original_message is not None and asked.original_message.content == "answer to why?"
    assert [v.content for v in asked.original_message.versions] == ["", "answer to why?"]
    assert secret.original_message is not None and secret.original_message.ephemeral
    assert choices == [{"name": "docs", "value": "docs"}, {"name": "design", "value": "design"}]
    assert direct.original_message is not None and direct.original_message.content == "docs: q"
    edits = sim.calls("PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    assert [c.params["message_id"] for c in edits] == ["@original", "@original"]
    assert sim.bot_texts(world.channel) == ["answer to why?", "answer to hm", "docs: q"]


@pytest.mark.parametrize("discord_sim_config", [SimulatorConfig(interaction_ack_timeout=0.2)])
async def test_late_interaction_answer_is_unknown_interaction(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()
    tree = app_commands.CommandTree(client)
    errors: list[discord.HTTPException] = []

    @tree.command(name="slow", description="Too slow to defer")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("late")
        except discord.HTTPException as error:
            errors.append(error)

    async with running_client(sim, client):
        await tree.sync()
        await sim.run_slash_command(world.channel, world.user, "slow")
        await sim.wait_until(lambda: errors, what="the late answer to fail")

    assert isinstance(errors[0], discord.NotFound) and errors[0].code == 10062


async def test_resume_after_dropped_socket_replays_missed_events(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()
    seen: list[str] = []
    resumed = asyncio.Event()

    @client.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    async with running_client(sim, client):
        await sim.drop_connections()
        await sim.user_says(world.channel, world.user, "sent while disconnected")
        await asyncio.wait_for(resumed.wait(), 10)
        await sim.wait_until(lambda: seen, what="the replayed message")
        await sim.send_reconnect()
        await sim.wait_until(lambda: sim.resume_count == 2 and sim.bot_connected, what="a second resume")
        await sim.user_says(world.channel, world.user, "after reconnect")
        await sim.wait_until(lambda: len(seen) == 2, what="a live message")

    assert seen == ["sent while disconnected", "after reconnect"]
    assert sim.identify_count == 1
    # The first message was dispatched before the first RESUMED: discord.py got it from the replay.
    first_message = sim.gateway_events("MESSAGE_CREATE")[0]
    assert first_message.at_monotonic < sim.gateway_events("RESUMED")[0].at_monotonic
    assert len(sim.gateway_events("RESUMED")) == 2


async def test_invalid_session_makes_discord_py_identify_again(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim = discord_sim

    class NoIdentifyDelay(discord.Client):
        async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
            """discord.py sleeps 5 s before every non-initial IDENTIFY; a documented hook, skipped for speed."""

    intents = discord.Intents.default()
    async with running_client(sim, NoIdentifyDelay(intents=intents, guild_ready_timeout=0.1)):
        await sim.invalidate_session(resumable=False)
        await sim.wait_until(lambda: sim.identify_count == 2 and sim.bot_connected, what="a new IDENTIFY")
    assert len(sim.gateway_events("READY")) == 2


async def test_dm_command_followups_and_token_expiry(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    dm = await sim.create_dm(world.user)
    client = bot_client()
    tree = app_commands.CommandTree(client)
    expired: list[discord.HTTPException] = []

    @tree.command(name="status", description="Show status")
    async def status(interaction: discord.Interaction) -> None:
        assert isinstance(interaction.channel, discord.DMChannel)
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("first: fills the thinking message")
        await interaction.followup.send("second: a new message")
        sim.advance_clock(901)
        try:
            await interaction.edit_original_response(content="too late")
        except discord.HTTPException as error:
            expired.append(error)

    async with running_client(sim, client):
        await tree.sync()
        ran = await sim.run_slash_command(dm, world.user, "status")
        await sim.wait_until(lambda: expired, what="the expired token to be refused")

    assert ran.original_message is not None
    assert ran.original_message.content == "first: fills the thinking message"
    assert [m.content for m in ran.followups] == ["second: a new message"]
    assert sim.bot_texts(dm) == ["first: fills the thinking message", "second: a new message"]
    assert expired[0].status == 401 and expired[0].code == 50027


async def test_commands_needing_permissions_are_hidden_from_members(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    admin = await sim.create_user("admin")
    admins = await sim.create_role(world.guild, "admins", permissions=1 << 5)
    await sim.add_member(world.guild, admin, roles=[admins])
    client = bot_client()
    tree = app_commands.CommandTree(client)
    ran_by: list[int] = []

    @tree.command(name="system", description="Set the system prompt")
    @app_commands.default_permissions(manage_guild=True)
    async def system(interaction: discord.Interaction) -> None:
        ran_by.append(interaction.user.id)
        await interaction.response.send_message("ok", ephemeral=True)

    async with running_client(sim, client):
        await tree.sync()
        with pytest.raises(SimUsageError, match="hides it"):
            await sim.run_slash_command(world.channel, world.user, "system")
        done = await sim.run_slash_command(world.channel, admin, "system")
        await sim.wait_for_response(done)

    assert ran_by == [admin.id]
    assert done.original_message is not None and done.original_message.ephemeral


async def test_renaming_a_channel_hits_the_hidden_rename_limit(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    thread = await sim.create_thread(world.channel, "first", owner=world.user)
    url = f"{sim.rest_base}/channels/{thread.id}"
    async with aiohttp.ClientSession(headers=_auth(sim)) as http:
        answers = []
        for name in ["second", "third", "fourth"]:
            async with http.patch(url, json={"name": name}) as response:
                answers.append((response.status, response.headers.get("X-RateLimit-Scope")))
    assert answers == [(200, None), (200, None), (429, "shared")]
    assert sim.channel(thread).name == "third"
