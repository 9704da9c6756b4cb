"""The core as adapters see it: one facade over turns, conversations, settings, models and knowledge.

An adapter gets a `Core` and its own settings, nothing else: it never holds the store or the OpenWebUI
client, so what the bridge does with a message is decided here once, for every platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bridge import prompts, texts
from bridge.answer_controls import AnswerControls
from bridge.branching import Branch
from bridge.catalog import Catalog
from bridge.engine import Engine
from bridge.errors import UserFacingError
from bridge.identity import texts as identity_texts
from bridge.identity.linking import EmailLookup, Identities
from bridge.identity.policy import SpeakerPolicy
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.openwebui import FEATURES, KnowledgeBase, Model, Prompt, Tool, errors
from bridge.openwebui.acting import acting_as
from bridge.outcomes import TurnOutcome, TurnStatus
from bridge.shared_budgets import SharedBudgets
from bridge.surface import ReplySurface


class Core:
    """What every adapter of the process shares."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        identities: Identities | None = None,
        budgets: SharedBudgets | None = None,
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._identities = identities
        self._policy = SpeakerPolicy(identities, catalog) if identities is not None else None
        self._link_commands: dict[str, str] = {}
        if identities is not None:
            engine.owner_of = identities.acting_for_chat
        self.controls = AnswerControls(
            engine, run=lambda message, surface, branch: self.handle(message, surface, branch=branch)
        )
        """Stop, Regenerate, 👍/👎 and edited questions (`bridge.answer_controls`)."""
        self.budgets = budgets or SharedBudgets()
        """Where adapters register the platform limits every replica shares (`bridge.shared_budgets`)."""

    # --- turns ----------------------------------------------------------------------------------

    async def handle(
        self,
        message: IncomingMessage,
        surface: ReplySurface,
        *,
        knowledge: tuple[str, ...] = (),
        branch: Branch | None = None,
    ) -> TurnOutcome:
        """Answer `message` through `surface`; `knowledge` adds knowledge-base ids to search (`/kb ask`);
        `branch` makes it a regenerated answer or an edited question (`controls`).

        With linking on, the turn runs as the owner of the conversation's chat, after the identity policy
        let the asker in (`bridge.identity.policy`); a refusal, or a key OpenWebUI refused, ends in the
        outcome's `private_note` for the adapter to show the asker alone.
        """
        if self._policy is None or self._identities is None:
            return await self._engine.handle(message, surface, knowledge=knowledge, branch=branch)
        platform = message.key.platform
        decision = await self._policy.decide(message, knowledge, self.link_command(platform))
        if decision.refusal:
            if not await self._engine.store.claim_event(platform, message.event_id):
                return TurnOutcome(TurnStatus.DUPLICATE)
            return TurnOutcome(TurnStatus.REFUSED, error="identity policy", private_note=decision.refusal)
        with acting_as(decision.acting):
            outcome = await self._engine.handle(message, surface, knowledge=knowledge, branch=branch)
        if outcome.chat_id and outcome.chat_id != decision.chat_id and decision.starter is not None:
            await self._identities.store.set_owner(outcome.chat_id, decision.starter)
        if decision.acting is not None and decision.acting.refused and decision.owner is not None:
            link = self.link_command(platform)
            note = await self._identities.refused(decision.owner, link)
            mine = decision.owner.user_id == message.author_id and decision.owner.platform == platform
            outcome.private_note = note if mine else identity_texts.owner_refused(link)
        return outcome

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event is seen, also across restarts, for what an adapter does outside a
        turn (a refusal note, opening a thread): a platform's redelivery must not repeat it. `handle`
        claims the message's own `event_id`, so a message claimed here before it is handled needs a key
        of its own."""
        return await self._engine.store.claim_event(platform, event_id)

    def turns_in_progress(self, platform: str) -> int:
        """Turns this process is answering on `platform` now: its demand on the platform's shared budgets."""
        return self._engine.running.count(platform)

    @property
    def max_file_bytes(self) -> int:
        """The largest attachment the bridge takes; a platform's downloader stops reading past it."""
        return self._catalog.intake.max_bytes

    # --- identities -----------------------------------------------------------------------------

    @property
    def linking(self) -> bool:
        """People may link their own OpenWebUI accounts here (`BRIDGE_IDENTITY_POLICY` is not `service`)."""
        return self._identities is not None

    def set_link_command(self, platform: str, command: str) -> None:
        """How `platform`'s people link (`/link`, `/owui link`), for the sentences that tell them to."""
        self._link_commands[platform] = command

    def link_command(self, platform: str) -> str:
        return self._link_commands.get(platform, "the link command")

    @property
    def links_by_email(self) -> bool:
        """Unlinked people act as the OpenWebUI user of their verified email (`BRIDGE_LINK_BY_EMAIL`)."""
        return self._identities is not None and self._identities.by_email is not None

    def set_email_lookup(self, platform: str, lookup: EmailLookup) -> None:
        """How `platform` tells a person's verified email, for `BRIDGE_LINK_BY_EMAIL` (Slack's `users.info`)."""
        if self._identities is not None:
            self._identities.emails[platform] = lookup

    async def link(self, platform: str, user_id: str, api_key: str, unlink_command: str) -> str:
        """Check the key against OpenWebUI and keep it, encrypted; the sentence for the person alone."""
        if self._identities is None:
            return identity_texts.LINKING_OFF
        return await self._identities.link(platform, user_id, api_key, unlink_command)

    async def whoami(self, platform: str, user_id: str) -> str:
        if self._identities is None:
            return identity_texts.LINKING_OFF
        return await self._identities.whoami(platform, user_id, self.link_command(platform))

    async def unlink(self, platform: str, user_id: str) -> str:
        if self._identities is None:
            return identity_texts.LINKING_OFF
        return await self._identities.unlink(platform, user_id)

    async def identity_refusal(self, platform: str, user_id: str) -> str:
        """Why the policy answers nothing for this person anywhere ("" when it may): not linked under `linked`,
        or a link that can no longer be read. Adapters ask before doing platform work for a message (opening
        a thread); `handle` applies the whole policy."""
        if self._identities is None:
            return ""
        link = self.link_command(platform)
        try:
            person = await self._identities.person(platform, user_id, link)
        except UserFacingError as exc:
            return str(exc)
        if person is None and self._identities.policy == "linked":
            return identity_texts.link_first(link)
        return ""

    @asynccontextmanager
    async def as_person(self, platform: str, user_id: str) -> AsyncIterator[None]:
        """Everything inside (model lists, knowledge bases, uploads) runs as the person when linked, else
        as the service account, or not at all under `linked` (`UserFacingError` saying to link). A key
        OpenWebUI refuses inside ends in `UserFacingError` telling them to link again."""
        if self._identities is None:
            yield
            return
        link = self.link_command(platform)
        person = await self._identities.person(platform, user_id, link)
        if person is None and self._identities.policy == "linked":
            raise UserFacingError(identity_texts.link_first(link))
        try:
            with acting_as(person.acting() if person else None):
                yield
        except errors.LinkRefused:
            assert person is not None
            raise UserFacingError(await self._identities.refused(person, link)) from None

    # --- conversations --------------------------------------------------------------------------

    async def new_conversation(self, key: ConversationKey) -> bool:
        """`/new`: the next message at `key` starts a new OpenWebUI chat. False when it had none."""
        return await self._catalog.new_conversation(key)

    async def has_conversation(self, key: ConversationKey, *, ever: bool = False) -> bool:
        """Whether `key` has a chat; with `ever`, whether the bridge ever took part there."""
        return await self._catalog.has_conversation(key, ever=ever)

    async def chat_link(self, key: ConversationKey) -> tuple[str, str]:
        """(chat id, web UI link) of the conversation at `key`, or ("", "")."""
        return await self._catalog.chat_link(key)

    async def status(self, key: ConversationKey) -> texts.Status:
        return await self._catalog.status(key)

    # --- models and settings --------------------------------------------------------------------

    async def models(self, *, refresh: bool = False) -> list[Model]:
        return await self._catalog.models(refresh=refresh)

    async def set_model(self, scope: ConversationKey, name: str) -> Model:
        """Use model `name` at `scope` (checked against OpenWebUI); "" clears it so the scope inherits."""
        return await self._catalog.set_model(scope, name)

    async def set_system_prompt(self, scope: ConversationKey, prompt: str) -> None:
        await self._catalog.set_system_prompt(scope, prompt)

    async def effective_settings(self, key: ConversationKey) -> tuple[str, str]:
        """(model, system prompt) in force at `key`, after inheritance and defaults."""
        return await self._catalog.effective_settings(key)

    # --- tools and features ---------------------------------------------------------------------

    features = FEATURES
    """The features admins may switch per place (OpenWebUI's names)."""

    async def tools(self) -> list[Tool]:
        """The tools OpenWebUI offers the bridge's key (cached for a minute: autocomplete)."""
        return await self._catalog.tools()

    async def switch_tool(self, scope: ConversationKey, name: str, on: bool | None) -> Tool:
        """Turn tool `name` (id or name) on or off at `scope`; None: inherit again."""
        return await self._catalog.switch_tool(scope, name, on)

    async def switch_feature(self, scope: ConversationKey, feature: str, on: bool | None) -> None:
        """Turn a feature (`features`) on or off at `scope`; None: inherit again."""
        await self._catalog.switch_feature(scope, feature, on)

    async def assistance(self, key: ConversationKey) -> texts.Assistance:
        """The tools and features in force at `key` and the tools OpenWebUI offers, for `/tools` and `/features`."""
        return await self._catalog.place_assistance(key)

    # --- the prompt library and suggestions -----------------------------------------------------

    async def prompts(self) -> list[Prompt]:
        """OpenWebUI's prompt library (cached for a minute: autocomplete)."""
        return await self._catalog.prompts()

    async def prompt_question(self, command: str, text: str, user_name: str) -> str:
        """The question prompt `command` asks, its variables filled from `text` (`bridge.prompts`);
        `UserFacingError` naming the prompts, or the variables it needs."""
        return prompts.fill(await self._catalog.find_prompt(command), text, user_name)

    async def suggestions(self, key: ConversationKey) -> tuple[str, ...]:
        """The suggested prompts of the model in force at `key` (OpenWebUI's `meta.suggestion_prompts`)."""
        return await self._catalog.suggestions(key)

    # --- knowledge ------------------------------------------------------------------------------

    async def knowledge_bases(self) -> list[KnowledgeBase]:
        return await self._catalog.knowledge_bases()

    async def find_knowledge(self, name: str) -> str:
        """The id of knowledge base `name`; `UserFacingError` naming the ones there are if none."""
        return await self._catalog.find_knowledge(name)

    async def add_to_knowledge(self, name: str, attachments: list[Attachment]) -> list[str]:
        """Upload each file into knowledge base `name`; one result line per file."""
        return await self._catalog.add_to_knowledge(name, attachments)
