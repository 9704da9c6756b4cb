"""Discord shards split across bridge processes: each process runs some shard ids of a shard count, the
simulated gateway routes each server's events to the shard `(guild_id >> 22) % count` and DMs to shard 0,
as Discord does. Two adapters here stand for two processes; they share one database file, as replicas share
one store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.discord.settings import DiscordSettings
from bridge.adapter import platforms
from bridge.settings import ConfigError, load_settings
from simulators.discord import DiscordSimulator, SimChannel, SimMessage
from simulators.discord.gateway import shard_of
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from tests.adapters.discord.conftest import DiscordBridge, World

SHARDS = 2


async def channel_on_shard(sim: DiscordSimulator, world: World, shard: int, name: str) -> SimChannel:
    """A server whose events Discord sends to `shard` (of `SHARDS`), with `alice` in it, and its channel.

    Server ids are snowflakes: the shard comes from their millisecond, so the clock moves on until one lands
    there (the servers made on the way stay, as other servers of the bot)."""
    guild = await sim.create_guild(name)
    while shard_of(guild.id, SHARDS) != shard:
        sim.advance_clock(0.001)
        guild = await sim.create_guild(name)
    await sim.add_member(guild, world.alice)
    return await sim.create_text_channel(guild, "general")


@pytest.fixture
async def second_process(
    discord_bridge: DiscordBridge, fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream
) -> AsyncIterator[DiscordBridge]:
    """Another bridge process on the same simulator and the same database file."""
    other = DiscordBridge(discord_bridge.sim, fake_owui, model_upstream, discord_bridge.db)
    try:
        yield other
    finally:
        await other.stop()


def answers(sim: DiscordSimulator, question: SimMessage) -> list[str]:
    """The bot's messages answering `question`: in the thread it opened, and replies in the channel."""
    thread = sim.thread_of(question)
    in_thread = sim.bot_texts(thread) if thread is not None else []
    return in_thread + sim.bot_texts(question.channel_id)


async def test_two_processes_each_answer_the_servers_of_their_shard_once(
    discord_bridge: DiscordBridge, second_process: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    first = await discord_bridge.start(shard_count=SHARDS, shard_ids=[0])
    second = await second_process.start(shard_count=SHARDS, shard_ids=[1])
    assert first.ready() and second.ready()
    # world.guild's shard is where it happens to fall; one server is made on each shard besides it
    on_shard = {0: await channel_on_shard(sim, world, 0, "zero"), 1: await channel_on_shard(sim, world, 1, "one")}
    await sim.wait_until(
        lambda: {g.id for g in first.client.guilds} | {g.id for g in second.client.guilds} == set(sim.state.guilds),
        what="every server known to one of the processes",
    )
    assert all(shard_of(g.id, SHARDS) == 0 for g in first.client.guilds)
    assert all(shard_of(g.id, SHARDS) == 1 for g in second.client.guilds)

    questions: dict[int, list[tuple[SimMessage, str]]] = {0: [], 1: []}
    for round_ in range(2):
        for shard, channel in on_shard.items():
            text = f"shard {shard} q{round_}"
            questions[shard].append((await sim.user_says(channel, world.alice, text, mentions_bot=True), text))
    dm = await sim.create_dm(world.alice)
    private = await sim.user_says(dm, world.alice, "a direct message")

    owner = {0: (discord_bridge, first), 1: (second_process, second)}
    for shard, asked in questions.items():
        bridge, adapter = owner[shard]
        other = owner[1 - shard][1]
        for question, text in asked:
            await bridge.wait_answered(question)
            assert adapter.has_seen(question.id) and not other.has_seen(question.id)
            assert answers(sim, question) == [f"echo: {text}"], "answered once, by its shard's process"
    await discord_bridge.wait_answered(private)
    assert not second.has_seen(private.id), "direct messages come on shard 0 only"
    assert sim.bot_texts(dm) == ["echo: a direct message"]
    assert len(discord_bridge.upstream.asked("shard ")) == 4


async def test_servers_of_a_shard_no_process_runs_get_no_answer(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    adapter = await discord_bridge.start(shard_count=SHARDS, shard_ids=[0])
    unserved = await channel_on_shard(sim, world, 1, "nobody's")
    served = await channel_on_shard(sim, world, 0, "mine")

    lost = await sim.user_says(unserved, world.alice, "anyone there?", mentions_bot=True)
    answered = await discord_bridge.ask(served, world.alice, "hello shard zero")  # sent after: the gateway is idle
    assert answers(sim, answered) == ["echo: hello shard zero"]
    assert not adapter.has_seen(lost.id) and answers(sim, lost) == []
    assert discord_bridge.upstream.asked("anyone there?") == []


async def test_without_shard_settings_one_connection_gets_every_server(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    adapter = await discord_bridge.start()
    channels = [await channel_on_shard(sim, world, shard, f"server {shard}") for shard in (0, 1)]
    for number, channel in enumerate(channels):
        question = await discord_bridge.ask(channel, world.alice, f"unsharded {number}")
        assert answers(sim, question) == [f"echo: unsharded {number}"]
    assert [s.shard for s in sim.gateway.sessions.values()] == [None]
    assert adapter.client.shard_count is None


async def test_one_process_runs_several_shards_and_is_not_ready_while_one_is_down(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """discord.py identifies a process's shards 5 s apart (Discord's one IDENTIFY per 5 s), so this takes ~10 s."""
    sim = discord_sim
    adapter = await discord_bridge.start(shard_count=SHARDS, shard_ids=[0, 1])
    assert adapter.ready() and sorted(s.shard for s in sim.gateway.live_sessions()) == [(0, 2), (1, 2)]
    for shard in (0, 1):
        channel = await channel_on_shard(sim, world, shard, f"server {shard}")
        question = await discord_bridge.ask(channel, world.alice, f"both shards here {shard}")
        assert answers(sim, question) == [f"echo: both shards here {shard}"]

    await sim.invalidate_session(shard_id=1)  # shard 1 must IDENTIFY again (after 5 s); shard 0 stays connected
    await sim.wait_until(lambda: not adapter.ready(), 3, "not ready while shard 1 is down")
    assert [s.shard for s in sim.gateway.live_sessions()] == [(0, 2)]
    await sim.wait_until(adapter.ready, 10, "ready again once shard 1 is back")
    question = await discord_bridge.ask(await channel_on_shard(sim, world, 1, "later"), world.alice, "back again")
    assert answers(sim, question) == ["echo: back again"]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_COUNT: missing"),
        ({"DISCORD_SHARD_IDS": "0,2", "DISCORD_SHARD_COUNT": "2"}, "DISCORD_SHARD_IDS: shard 2 does not exist"),
        ({"DISCORD_SHARD_IDS": "1,1", "DISCORD_SHARD_COUNT": "2"}, "DISCORD_SHARD_IDS: a shard id is given twice"),
        ({"DISCORD_SHARD_IDS": "-1", "DISCORD_SHARD_COUNT": "2"}, "DISCORD_SHARD_IDS: shard ids start at 0"),
        ({"DISCORD_SHARD_IDS": "one", "DISCORD_SHARD_COUNT": "2"}, "DISCORD_SHARD_IDS: Input should be a valid int"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT: Input should be greater than or equal to 1"),
    ],
)
def test_shard_settings_that_do_not_fit_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], says: str
) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-x")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "a-token")
    for name in ("DISCORD_SHARD_IDS", "DISCORD_SHARD_COUNT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_discord()
    assert str(error.value).startswith(says)


def test_shard_settings_left_empty_mean_no_sharding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-x")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "a-token")
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "")
    assert load_discord().shards is None
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "3")
    assert load_discord().shards == ([0, 1, 2], 3), "a count alone: every shard in this process"


def load_discord() -> DiscordSettings:
    settings = load_settings(None, platforms={name: p.settings for name, p in platforms().items()})
    discord = settings.platforms["discord"]
    assert isinstance(discord, DiscordSettings)
    return discord
