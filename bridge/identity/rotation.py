"""`bridge make-key` and `bridge rotate-key`: the encryption key of linked OpenWebUI keys, and changing it.

Rotation: put a new key (`bridge make-key`) in `BRIDGE_ENCRYPTION_KEY` and the old one in
`BRIDGE_ENCRYPTION_OLD_KEYS`, run `bridge rotate-key` (every stored key is re-encrypted with the new one,
in one transaction), then remove the old key. A running bridge keeps working throughout: it reads with
either key.
"""

from __future__ import annotations

from bridge.identity.vault import KeyVault, UnreadableKey, make_key
from bridge.settings import ConfigError, Settings
from bridge.store import Store
from bridge.store.identities import IdentityStore


def new_key() -> str:
    """What `bridge make-key` prints."""
    return make_key()


async def rotate_keys(settings: Settings) -> str:
    """Re-encrypt every linked key with `BRIDGE_ENCRYPTION_KEY`; the line to print."""
    identity = settings.identity
    current = identity.encryption_key.get_secret_value()
    if not current:
        raise ConfigError(
            "BRIDGE_ENCRYPTION_KEY: missing; set the new key there and the old one in "
            "BRIDGE_ENCRYPTION_OLD_KEYS, then run bridge rotate-key again"
        )
    store = await Store.open(settings.bridge.database)
    try:
        rotated, unreadable = await rotate(IdentityStore(store), KeyVault(current, identity.old_keys))
    finally:
        await store.close()
    line = f"re-encrypted {rotated} linked key(s) with BRIDGE_ENCRYPTION_KEY"
    if unreadable:
        line += (
            f"; {unreadable} could not be read with any configured key (add the key they were made with to "
            "BRIDGE_ENCRYPTION_OLD_KEYS and run again, or those people link again)"
        )
    return line + "."


async def rotate(store: IdentityStore, vault: KeyVault) -> tuple[int, int]:
    """Re-encrypt every stored key with the vault's current key: (rotated, unreadable). Unreadable ones are
    left as they are, so adding the missing old key and running again still saves them."""
    rotated: list[tuple[str, str, str]] = []
    unreadable = 0
    for account in await store.all():
        try:
            rotated.append((account.platform, account.user_id, vault.rotate(account.key_ciphertext)))
        except UnreadableKey:
            unreadable += 1
    await store.replace_ciphertexts(rotated)
    return len(rotated), unreadable
