"""`bridge make-key` and `bridge rotate-key` as an operator runs them: linked keys are stored only encrypted,
and rotating the encryption key re-encrypts them so the old key can go."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bridge.identity.vault import KeyVault, UnreadableKey, make_key
from bridge.store import Store
from bridge.store.identities import IdentityStore, LinkedAccount
from tests.test_cli import run_bridge as bridge

SECRET = "sk-0123456789abcdef0123456789abcdef"


async def _link(db: Path, vault: KeyVault) -> None:
    store = await Store.open(db)
    try:
        account = LinkedAccount("discord", "42", vault.encrypt(SECRET), "owui-1", "Ada", "ada@x", 1.0)
        await IdentityStore(store).save(account)
    finally:
        await store.close()


async def _stored(db: Path) -> str:
    store = await Store.open(db)
    try:
        account = await IdentityStore(store).get("discord", "42")
    finally:
        await store.close()
    assert account is not None
    return account.key_ciphertext


def test_rotate_key_re_encrypts_linked_keys_and_the_database_alone_is_useless(tmp_path: Path) -> None:
    made = bridge(["make-key"], {}, tmp_path)
    assert made.returncode == 0
    old, new = made.stdout.strip(), make_key()
    KeyVault(old)  # a key the vault takes
    db = tmp_path / "bridge.db"
    asyncio.run(_link(db, KeyVault(old)))
    on_disk = b"".join(path.read_bytes() for path in tmp_path.glob("bridge.db*"))
    assert on_disk and SECRET.encode() not in on_disk, "only ciphertext on disk"

    env = {"BRIDGE_DB_PATH": str(db), "BRIDGE_ENCRYPTION_KEY": new}
    stranded = bridge(["rotate-key"], env, tmp_path)
    assert stranded.returncode == 0 and "1 could not be read" in stranded.stdout
    rotated = bridge(["rotate-key"], {**env, "BRIDGE_ENCRYPTION_OLD_KEYS": old}, tmp_path)
    assert rotated.returncode == 0 and "re-encrypted 1 linked key(s)" in rotated.stdout, rotated.stderr
    ciphertext = asyncio.run(_stored(db))
    assert KeyVault(new).decrypt(ciphertext) == SECRET, "the new key alone opens it"
    try:
        KeyVault(old).decrypt(ciphertext)
    except UnreadableKey:
        pass
    else:
        raise AssertionError("the old key still opens a rotated key")


def test_rotate_key_without_a_key_names_the_variable(tmp_path: Path) -> None:
    result = bridge(["rotate-key"], {"BRIDGE_DB_PATH": str(tmp_path / "bridge.db")}, tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("configuration error: BRIDGE_ENCRYPTION_KEY: missing")
    assert "Traceback" not in result.stderr
