"""Whose OpenWebUI account answers a message: the policy, and the rules of shared conversations.

Policies (`BRIDGE_IDENTITY_POLICY`): `service` (everyone through the bridge's key: no linking),
`mixed` (linked people as themselves, others through the service key), `linked` (only linked people).

A conversation's chat belongs to whoever started it, so it stays whole in one OpenWebUI history: every
turn in it is read and written with the owner's key, and each message carries its author's name. Before
someone else's turn runs there, their own identity (their key, or the service key under `mixed`) must be
allowed the conversation's model and the knowledge bases asked: OpenWebUI's access rules are never
widened by joining somebody's thread. Nothing ever falls back to another identity when a key is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.catalog import Catalog
from bridge.identity import texts
from bridge.identity.linking import Identities, LinkBroken, Person
from bridge.messages import IncomingMessage
from bridge.openwebui import errors
from bridge.openwebui.acting import Acting, acting_as
from bridge.store.identities import ChatOwner


@dataclass(slots=True)
class Decision:
    """How to run one message: as `owner` (None: the service key), or not at all (`refusal`, told privately).

    `starter` is recorded as the owner of the chat when the turn makes a new one (`chat_id` was "")."""

    refusal: str = ""
    owner: Person | None = None
    acting: Acting | None = None
    chat_id: str = ""
    starter: ChatOwner | None = None


class SpeakerPolicy:
    """Decides, per message, whose key answers it."""

    def __init__(self, identities: Identities, catalog: Catalog) -> None:
        self.identities = identities
        self.catalog = catalog

    async def decide(self, message: IncomingMessage, knowledge: tuple[str, ...], link_command: str) -> Decision:
        platform, author = message.key.platform, message.author_id
        try:
            speaker = await self.identities.person(platform, author, link_command)
        except LinkBroken as exc:
            return Decision(refusal=str(exc))
        if speaker is None and self.identities.policy == "linked":
            return Decision(refusal=texts.link_first(link_command))
        mine = speaker.as_owner() if speaker else ChatOwner(platform, author, "")
        chat_id = "" if message.new_conversation else (await self.catalog.chat_link(message.key))[0]
        owner = (await self.identities.store.owner(chat_id) if chat_id else None) or ChatOwner("", "", "")
        if not chat_id or _same(owner, speaker):
            return _as(speaker, chat_id, mine)
        refusal = await self._may_join(message, knowledge, speaker, link_command)
        if refusal:
            return Decision(refusal=refusal)
        if owner.is_service:
            if self.identities.policy == "linked":
                return Decision(refusal=texts.SERVICE_CHAT)
            return _as(None, chat_id, mine)
        try:
            person = await self.identities.person(owner.platform, owner.user_id, link_command)
        except LinkBroken:
            person = None
        if person is None or person.owui_user_id != owner.owui_user_id:
            return Decision(refusal=texts.owner_gone(link_command))
        return _as(person, chat_id, mine)

    async def _may_join(
        self, message: IncomingMessage, knowledge: tuple[str, ...], speaker: Person | None, link_command: str
    ) -> str:
        """Why the speaker's own identity may not take part in this conversation ("" when it may): the model
        it uses and the knowledge bases asked must be theirs in OpenWebUI too."""
        with acting_as(speaker.acting() if speaker else None):
            try:
                model = message.model or (await self.catalog.effective_settings(message.key))[0]
                # Fresh, not the minute-old list: access OpenWebUI withdrew applies to the next message.
                if model and model not in {m.id for m in await self.catalog.models(refresh=True)}:
                    return texts.not_allowed_model(model)
                if knowledge:
                    mine = {base.id for base in await self.catalog.knowledge_bases()}
                    missing = [kb for kb in knowledge if kb not in mine]
                    if missing:
                        return texts.not_allowed_knowledge(missing[0])
            except errors.LinkRefused:
                return texts.link_again(link_command)
        return ""


def _same(owner: ChatOwner, speaker: Person | None) -> bool:
    if speaker is None:
        return owner.is_service
    return not owner.is_service and owner.owui_user_id == speaker.owui_user_id


def _as(person: Person | None, chat_id: str, starter: ChatOwner) -> Decision:
    return Decision(owner=person, acting=person.acting() if person else None, chat_id=chat_id, starter=starter)
