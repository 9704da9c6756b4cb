"""Linked OpenWebUI keys encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The database holds only ciphertext: without `BRIDGE_ENCRYPTION_KEY` it is useless. Earlier keys
(`BRIDGE_ENCRYPTION_OLD_KEYS`) still decrypt, so the key can be rotated without unlinking anyone:
`bridge rotate-key` re-encrypts every stored key with the current one, after which the old ones can go.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class UnreadableKey(Exception):
    """A stored key no configured encryption key opens (the key changed without a rotation)."""


def make_key() -> str:
    """A fresh encryption key (32 random bytes, url-safe base64), the form `BRIDGE_ENCRYPTION_KEY` takes."""
    return Fernet.generate_key().decode()


def valid_key(value: str) -> bool:
    try:
        Fernet(value.encode())
    except ValueError:
        return False
    return True


class KeyVault:
    """Encrypts with the current key; decrypts with it or any of the old ones."""

    def __init__(self, current: str, old: Sequence[str] = ()) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in (current, *old)])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UnreadableKey("a stored key cannot be decrypted with the configured encryption keys") from None

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the current key (`UnreadableKey` if no key opens it)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise UnreadableKey("a stored key cannot be decrypted with the configured encryption keys") from None
