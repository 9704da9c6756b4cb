"""The conversation store: migrations, mapping, deduplication, settings inheritance, open turns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bridge.messages import ConversationKey
from bridge.store import SchemaError, Store, StoredFile
from bridge.store.migrate import load_migrations

KEY = ConversationKey("discord", "g1", "c1", "t1")


async def test_migrations_create_the_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bridge.db"
    store = await Store.open(path)
    await store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
    assert versions == [m.version for m in load_migrations()]
    # opening again applies nothing twice
    store = await Store.open(path)
    await store.close()
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(versions)


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bridge.db"
    await (await Store.open(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (999, '0999_future', 0)")
    with pytest.raises(SchemaError, match="newer than this bridge"):
        await Store.open(path)


async def test_conversation_mapping_and_new(store: Store) -> None:
    assert await store.conversation(KEY) is None
    first = await store.start_conversation(KEY, "chat-1")
    assert (await store.conversation(KEY)) == first
    assert await store.archive_conversation(KEY)
    assert await store.conversation(KEY) is None
    second = await store.start_conversation(KEY, "chat-2")
    assert second.id != first.id and (await store.conversation(KEY)).chat_id == "chat-2"  # type: ignore[union-attr]
    # starting again archives the active one: still one active mapping per key
    await store.start_conversation(KEY, "chat-3")
    assert (await store.conversation(KEY)).chat_id == "chat-3"  # type: ignore[union-attr]


async def test_events_are_claimed_once(store: Store) -> None:
    assert await store.claim_event("slack", "Ev1")
    assert not await store.claim_event("slack", "Ev1")
    assert await store.claim_event("discord", "Ev1")
    assert await store.forget_events(older_than=-1) == 2
    assert await store.claim_event("slack", "Ev1")


async def test_settings_inherit_thread_channel_workspace(store: Store) -> None:
    workspace = ConversationKey("discord", "g1", "", "")
    channel = ConversationKey("discord", "g1", "c1", "")
    await store.set_scope_settings(workspace, model="m-workspace", system_prompt="be brief")
    await store.set_scope_settings(channel, model="m-channel")
    settings = await store.scope_settings(KEY)
    assert (settings.model, settings.system_prompt) == ("m-channel", "be brief")
    await store.set_scope_settings(KEY, system_prompt="be verbose")
    assert (await store.scope_settings(KEY)).system_prompt == "be verbose"
    await store.set_scope_settings(channel, model="")  # cleared: inherits the workspace's again
    assert (await store.scope_settings(KEY)).model == "m-workspace"


async def test_tool_and_feature_switches_inherit_one_id_at_a_time(store: Store) -> None:
    """A thread's switch wins over its channel's, a channel's over the workspace's, for that id only;
    forgetting a switch (None) inherits again, and a switch never touches the model or system prompt."""
    workspace = ConversationKey("discord", "g1", "", "")
    channel = ConversationKey("discord", "g1", "c1", "")
    await store.set_scope_settings(channel, model="m-channel")
    assert await store.switch(workspace, "features", "web_search", True) == {"web_search": True}
    await store.switch(workspace, "tools", "vault", True)
    await store.switch(channel, "tools", "vault", False)
    await store.switch(channel, "tools", "weather", True)
    await store.switch(KEY, "features", "memory", True)
    settings = await store.scope_settings(KEY)
    assert settings.tools == {"vault": False, "weather": True}
    assert settings.features == {"web_search": True, "memory": True}
    assert settings.model == "m-channel"
    assert await store.switch(channel, "tools", "vault", None) == {"weather": True}
    assert (await store.scope_settings(KEY)).tools == {"vault": True, "weather": True}


async def test_turns_files_and_open_turns(store: Store) -> None:
    conversation = await store.start_conversation(KEY, "chat-1")
    done = await store.begin_turn(conversation, "e1", "u1", "a1", None, "m")
    await store.finish_turn(done, "done")
    open_turn = await store.begin_turn(conversation, "e2", "u2", "a2", "a1", "m")
    await store.set_turn_messages(open_turn, ["p1", "p2"])
    turns = await store.open_turns()
    assert [(t.id, t.platform_message_ids, t.conversation.chat_id) for t in turns] == [
        (open_turn, ["p1", "p2"], "chat-1")
    ]
    assert await store.open_turns("slack") == []
    await store.add_file(conversation, StoredFile("f1", "a.txt", "text/plain", 3))
    assert [f.file_id for f in await store.files(conversation)] == ["f1"]


async def test_a_thread_that_had_a_conversation_is_still_known_after_new(store: Store) -> None:
    await store.start_conversation(KEY, "chat-1")
    await store.archive_conversation(KEY)
    assert await store.conversation(KEY) is None
    known = await store.conversation(KEY, include_archived=True)
    assert known is not None and known.chat_id == "chat-1"
