"""The identity tables (`migrations/*/0003_identities.sql`): linked accounts and who owns each chat.

Kept apart from `Store`'s conversation tables but on the same connection and thread (`Store._run`), so
linking never races a turn's writes. Keys come in and go out as ciphertext: this module never sees one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bridge.store.store import Store


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A platform user's link to an OpenWebUI account, key still encrypted."""

    platform: str
    user_id: str
    key_ciphertext: str = field(repr=False)
    owui_user_id: str
    owui_name: str
    owui_email: str
    linked_at: float
    refused_at: float | None = None


@dataclass(frozen=True, slots=True)
class ChatOwner:
    """Who started a chat: the platform user, and their OpenWebUI user id ("" for the service account)."""

    platform: str
    user_id: str
    owui_user_id: str

    @property
    def is_service(self) -> bool:
        return not self.owui_user_id


_COLUMNS = "platform, user_id, key_ciphertext, owui_user_id, owui_name, owui_email, linked_at, refused_at"


class IdentityStore:
    """Async access to `identities` and `chat_owners` through the store's one database thread."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def save(self, account: LinkedAccount) -> None:
        """Link (or link again, replacing the key and clearing a refusal)."""
        await self._store._run(
            lambda: self._store._write(
                f"INSERT INTO identities ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT (platform, user_id) DO UPDATE SET key_ciphertext = excluded.key_ciphertext, "
                "owui_user_id = excluded.owui_user_id, "
                "owui_name = excluded.owui_name, owui_email = excluded.owui_email, linked_at = excluded.linked_at, "
                "refused_at = NULL",
                (
                    account.platform,
                    account.user_id,
                    account.key_ciphertext,
                    account.owui_user_id,
                    account.owui_name,
                    account.owui_email,
                    account.linked_at,
                ),
            )
        )

    async def get(self, platform: str, user_id: str) -> LinkedAccount | None:
        row = await self._store._run(
            lambda: self._store._sql.execute(
                f"SELECT {_COLUMNS} FROM identities WHERE platform = ? AND user_id = ?", (platform, user_id)
            ).fetchone()
        )
        return LinkedAccount(*row) if row else None

    async def all(self) -> list[LinkedAccount]:
        rows = await self._store._run(
            lambda: self._store._sql.execute(f"SELECT {_COLUMNS} FROM identities ORDER BY platform, user_id").fetchall()
        )
        return [LinkedAccount(*row) for row in rows]

    async def delete(self, platform: str, user_id: str) -> bool:
        cursor = await self._store._run(
            lambda: self._store._write("DELETE FROM identities WHERE platform = ? AND user_id = ?", (platform, user_id))
        )
        return cursor.rowcount > 0

    async def mark_refused(self, platform: str, user_id: str) -> None:
        await self._store._run(
            lambda: self._store._write(
                "UPDATE identities SET refused_at = ? WHERE platform = ? AND user_id = ?",
                (time.time(), platform, user_id),
            )
        )

    async def replace_ciphertexts(self, rows: list[tuple[str, str, str]]) -> None:
        """(platform, user_id, new ciphertext) for each row, in one transaction (key rotation)."""

        def write() -> None:
            with self._store._sql.transaction():
                for platform, user_id, ciphertext in rows:
                    self._store._sql.execute(
                        "UPDATE identities SET key_ciphertext = ? WHERE platform = ? AND user_id = ?",
                        (ciphertext, platform, user_id),
                    )

        await self._store._run(write)

    # --- chat owners ----------------------------------------------------------------------------

    async def owner(self, chat_id: str) -> ChatOwner | None:
        row = await self._store._run(
            lambda: self._store._sql.execute(
                "SELECT platform, user_id, owui_user_id FROM chat_owners WHERE chat_id = ?", (chat_id,)
            ).fetchone()
        )
        return ChatOwner(*row) if row else None

    async def set_owner(self, chat_id: str, owner: ChatOwner) -> None:
        await self._store._run(
            lambda: self._store._write(
                "INSERT INTO chat_owners (chat_id, platform, user_id, owui_user_id, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (chat_id, owner.platform, owner.user_id, owner.owui_user_id, time.time()),
            )
        )
