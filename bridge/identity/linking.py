"""Linking a platform user to their OpenWebUI account: the key checked against OpenWebUI, stored encrypted,
shown (`whoami`), forgotten (`unlink`), and rotated to a new encryption key.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import UserFacingError
from bridge.identity import texts
from bridge.identity.by_email import EmailSignIn
from bridge.identity.vault import KeyVault, UnreadableKey
from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui.acting import Acting, acting_as
from bridge.store.identities import ChatOwner, IdentityStore, LinkedAccount

log = logging.getLogger(__name__)

_KEY_SHAPE = re.compile(r"^\S{8,512}$")
"""An API key as pasted: one word. OpenWebUI's are `sk-` and 32 hex digits; a JWT works as a key too."""


EmailLookup = Callable[[str], Awaitable[str]]
"""A platform's verified email of one of its users ("" when it has none or will not say)."""


@dataclass(frozen=True, slots=True)
class Person:
    """A linked person, with their key decrypted for the calls made as them; `by_email`: not linked but
    mapped by their platform email, `api_key` then being an OpenWebUI session token (`bridge.identity.by_email`)."""

    platform: str
    user_id: str
    owui_user_id: str
    owui_name: str
    api_key: str = field(repr=False)
    by_email: str = ""

    def acting(self) -> Acting:
        return Acting(label=f"{self.platform}:{self.user_id}", api_key=self.api_key)

    def as_owner(self) -> ChatOwner:
        return ChatOwner(self.platform, self.user_id, self.owui_user_id)


class LinkBroken(UserFacingError):
    """A stored link that cannot be used (unreadable after a key change); the text says to link again."""


class Identities:
    """Linked accounts over the identity tables, the vault and OpenWebUI (to check a key)."""

    def __init__(
        self,
        store: IdentityStore,
        vault: KeyVault,
        client: OpenWebUIClient,
        policy: str,
        by_email: EmailSignIn | None = None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.client = client
        self.policy = policy
        self.by_email = by_email
        self.emails: dict[str, EmailLookup] = {}
        """Per platform, how to get a person's verified email (Slack registers one; Discord has none)."""

    async def link(self, platform: str, user_id: str, api_key: str, unlink_command: str) -> str:
        """Check `api_key` against OpenWebUI and store it encrypted; the sentence to show (only to them)."""
        api_key = api_key.strip()
        if not _KEY_SHAPE.match(api_key):
            raise UserFacingError(texts.NOT_A_KEY)
        user = await self._verify(api_key)
        owui_id = str(user.get("id") or f"unverified:{platform}:{user_id}")
        name, email = str(user.get("name") or ""), str(user.get("email") or "")
        await self.store.save(
            LinkedAccount(platform, user_id, self.vault.encrypt(api_key), owui_id, name, email, time.time())
        )
        log.info("%s user %s linked to OpenWebUI user %s", platform, user_id, owui_id)
        return texts.linked(name, email, unlink_command)

    async def _verify(self, api_key: str) -> dict[str, Any]:
        """Who the key belongs to. `GET /api/v1/users/user/status` answers the key's user to any verified key
        (`/api/v1/auths/` wants a browser session and answers 403 to keys); where an admin turned user
        statuses off it answers 403, and `/api/models` then proves the key works without naming its user."""
        with acting_as(Acting(label="linking", api_key=api_key)):
            try:
                user = await self.client.call("GET", "/api/v1/users/user/status")
                return user if isinstance(user, dict) else {}
            except errors.Unauthorized:
                raise UserFacingError(texts.KEY_REFUSED) from None
            except errors.Forbidden:
                pass
            try:
                await self.client.models()
            except errors.Unauthorized:
                raise UserFacingError(texts.KEY_REFUSED) from None
            except errors.Forbidden:
                raise UserFacingError(texts.KEY_FORBIDDEN) from None
            return {}

    async def whoami(self, platform: str, user_id: str, link_command: str) -> str:
        account = await self.store.get(platform, user_id)
        if account is None:
            try:
                mapped = await self._mapped(platform, user_id)
            except LinkBroken as exc:
                return str(exc)
            if mapped is not None:
                return texts.mapped_by_email(mapped.owui_name, mapped.by_email, platform, link_command)
            return texts.whoami("", "", None, False, self.policy, link_command)
        return texts.whoami(
            account.owui_name,
            account.owui_email,
            account.linked_at,
            account.refused_at is not None,
            self.policy,
            link_command,
        )

    async def unlink(self, platform: str, user_id: str) -> str:
        was = await self.store.delete(platform, user_id)
        if was:
            log.info("%s user %s unlinked", platform, user_id)
        return texts.unlinked(was)

    async def person(self, platform: str, user_id: str, link_command: str) -> Person | None:
        """The linked person, key decrypted; None when not linked; `LinkBroken` when the stored key cannot be
        read (the encryption key changed without `bridge rotate-key`)."""
        account = await self.store.get(platform, user_id)
        if account is None:
            return await self._mapped(platform, user_id)
        try:
            key = self.vault.decrypt(account.key_ciphertext)
        except UnreadableKey:
            log.warning("%s user %s: the stored key cannot be decrypted (encryption key changed?)", platform, user_id)
            raise LinkBroken(texts.UNREADABLE.format(link=link_command)) from None
        return Person(platform, user_id, account.owui_user_id, account.owui_name, key)

    async def _mapped(self, platform: str, user_id: str) -> Person | None:
        """An unlinked person as the OpenWebUI user of their verified platform email (`BRIDGE_LINK_BY_EMAIL`),
        or None. OpenWebUI not answering is `LinkBroken`: nobody is answered as someone else meanwhile."""
        lookup = self.emails.get(platform)
        if self.by_email is None or lookup is None:
            return None
        email = (await lookup(user_id)).strip().lower()
        if not email:
            return None
        try:
            session = await self.by_email.session(email)
        except errors.OpenWebUIError as exc:
            log.warning("signing %s user %s in to OpenWebUI by email failed: %s", platform, user_id, exc)
            raise LinkBroken(texts.EMAIL_SIGN_IN_FAILED) from None
        if session is None:
            return None
        return Person(platform, user_id, session.owui_user_id, session.name, session.token, by_email=email)

    async def refused(self, person: Person, link_command: str) -> str:
        """OpenWebUI refused the person's key (or email session): remember it; what to tell them."""
        if person.by_email and self.by_email is not None:
            log.warning("OpenWebUI refused the email session of %s user %s", person.platform, person.user_id)
            self.by_email.forget(person.by_email)
            return texts.email_refused(link_command)
        log.warning("OpenWebUI refused the linked key of %s user %s", person.platform, person.user_id)
        await self.store.mark_refused(person.platform, person.user_id)
        return texts.link_again(link_command)

    async def acting_for_chat(self, chat_id: str) -> Acting | None:
        """The key that reaches `chat_id` outside a turn (closing an answer a crash cut off): its owner's
        while they are linked; the service key for the service account's chats (and, harmlessly, for a
        chat whose owner unlinked: OpenWebUI refuses it, and the turn is closed in the store only)."""
        owner = await self.store.owner(chat_id)
        if owner is None or owner.is_service:
            return None
        try:
            person = await self.person(owner.platform, owner.user_id, "")
        except LinkBroken:
            return None
        return person.acting() if person is not None and person.owui_user_id == owner.owui_user_id else None
