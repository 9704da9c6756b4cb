"""`--linked`: every simulated person acts as an OpenWebUI user of their own (issue 12's benchmark).

Each prepared user gets a user and API key in the OpenWebUI stand-in, and a link in the bridge's database
written before the bridge starts (as `/link` would store it: checked key, encrypted), under the `linked`
policy. Every turn then runs with that person's key, so the figures show what linking costs the streaming
path: the policy's decision, the key's decryption and a model list per identity.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from bridge.identity.vault import KeyVault, make_key
from bridge.store import Store
from bridge.store.identities import IdentityStore, LinkedAccount
from simulators.openwebui_fake import FakeOpenWebUI


async def link_everyone(platform: str, user_ids: Iterable[str], owui: FakeOpenWebUI, database: Path) -> dict[str, str]:
    """Link each of `user_ids` to a new stand-in user; the bridge's environment for it."""
    encryption_key = make_key()
    vault = KeyVault(encryption_key)
    store = await Store.open(database)
    try:
        identities = IdentityStore(store)
        for user_id in user_ids:
            api_key = owui.add_user(f"{platform}-{user_id}")
            user = owui.user_of(api_key)
            account = LinkedAccount(
                platform, user_id, vault.encrypt(api_key), user.id, user.name, user.email, time.time()
            )
            await identities.save(account)
    finally:
        await store.close()
    return {"BRIDGE_IDENTITY_POLICY": "linked", "BRIDGE_ENCRYPTION_KEY": encryption_key}
