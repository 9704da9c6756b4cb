"""The conversation store: migrations, mapping, deduplication, settings inheritance, open turns.

Every test that takes `store` runs twice: on an SQLite file and on a real PostgreSQL (`database` fixture).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from bridge.errors import StoreError
from bridge.messages import ConversationKey
from bridge.store import SchemaError, Store, StoredFile
from bridge.store.identities import ChatOwner, IdentityStore, LinkedAccount
from bridge.store.migrate import load_migrations, migrations_dir
from simulators.postgres_server import RealPostgres

KEY = ConversationKey("discord", "g1", "c1", "t1")


@pytest.fixture
async def store(database: str | Path) -> AsyncIterator[Store]:
    s = await Store.open(database)
    yield s
    await s.close()


def test_every_migration_exists_in_both_dialects() -> None:
    """A migration written for one database only would leave the other a schema behind."""
    sqlite = [(m.version, m.name) for m in load_migrations(dialect="sqlite")]
    postgresql = [(m.version, m.name) for m in load_migrations(dialect="postgresql")]
    assert sqlite == postgresql and len(sqlite) >= 4
    assert migrations_dir("sqlite").parent == migrations_dir("postgresql").parent


async def test_postgresql_migrates_once_even_when_replicas_start_together(postgres: RealPostgres) -> None:
    url = postgres.create_database()
    stores = await asyncio.gather(*(Store.open(url) for _ in range(3)))
    for store in stores:
        await store.close()
    with psycopg.connect(url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == [m.version for m in load_migrations(dialect="postgresql")]
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (999, '0999_future', 0)")
    with pytest.raises(SchemaError, match="newer than this bridge"):
        await Store.open(url)


async def test_times_keep_their_precision(store: Store) -> None:
    """Timestamps are doubles on both databases (PostgreSQL's REAL would round today's time to minutes,
    and `forget_events` would drop events seconds old)."""
    before = time.time()
    assert await store.claim_event("slack", "Ev1")
    seen = await store._run(lambda: store._sql.execute("SELECT seen_at FROM processed_events").fetchone()[0])
    assert before - 0.01 <= seen <= time.time() + 0.01
    assert await store.forget_events(older_than=30) == 0


async def test_identities_link_again_and_chat_owners_keep_the_first(store: Store) -> None:
    identities = IdentityStore(store)
    await identities.save(LinkedAccount("slack", "U1", "cipher-1", "owui-1", "Ann", "ann@x", 1.0))
    await identities.mark_refused("slack", "U1")
    await identities.save(LinkedAccount("slack", "U1", "cipher-2", "owui-1", "Ann B", "ann@x", 2.0))
    again = await identities.get("slack", "U1")
    assert again is not None
    assert (again.key_ciphertext, again.owui_name, again.refused_at) == ("cipher-2", "Ann B", None)
    await identities.set_owner("chat-1", ChatOwner("slack", "U1", "owui-1"))
    await identities.set_owner("chat-1", ChatOwner("slack", "U2", "owui-2"))
    assert await identities.owner("chat-1") == ChatOwner("slack", "U1", "owui-1")


async def test_postgresql_connection_lost_fails_one_statement_then_reconnects(postgres: RealPostgres) -> None:
    """A server restart or failover drops the connection: the statement then fails with a StoreError (its turn
    tells the person), and the next one connects again by itself."""
    store = await Store.open(postgres.create_database())
    try:
        await store.start_conversation(KEY, "chat-1")
        pid = await store._run(lambda: store._sql.execute("SELECT pg_backend_pid()").fetchone()[0])
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreError):
            await store.conversation(KEY)
        assert await store.problem() == ""
        assert (await store.conversation(KEY)).chat_id == "chat-1"  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_a_server_that_does_not_answer_is_named_without_its_password(postgres: RealPostgres) -> None:
    url = f"postgresql://postgres:s3cret-pw@127.0.0.1:{postgres.port + 1}/nothing"
    with pytest.raises(StoreError) as refused:
        await Store.open(url)
    assert "s3cret-pw" not in str(refused.value) and "127.0.0.1" in str(refused.value)


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
