"""The core as adapters see it: one facade over turns, conversations, settings, models and knowledge.

An adapter gets a `Core` and its own settings, nothing else: it never holds the store or the OpenWebUI
client, so what the bridge does with a message is decided here once, for every platform.
"""

from __future__ import annotations

from bridge import prompts, texts
from bridge.catalog import Catalog
from bridge.engine import Engine
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.openwebui import FEATURES, KnowledgeBase, Model, Prompt, Tool
from bridge.outcomes import TurnOutcome
from bridge.surface import ReplySurface


class Core:
    """What every adapter of the process shares."""

    def __init__(self, engine: Engine, catalog: Catalog) -> None:
        self._engine = engine
        self._catalog = catalog

    # --- turns ----------------------------------------------------------------------------------

    async def handle(
        self, message: IncomingMessage, surface: ReplySurface, *, knowledge: tuple[str, ...] = ()
    ) -> TurnOutcome:
        """Answer `message` through `surface`; `knowledge` adds knowledge-base ids to search (`/kb ask`)."""
        return await self._engine.handle(message, surface, knowledge=knowledge)

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event is seen, also across restarts, for what an adapter does outside a
        turn (a refusal note, opening a thread): a platform's redelivery must not repeat it. `handle`
        claims the message's own `event_id`, so a message claimed here before it is handled needs a key
        of its own."""
        return await self._engine.store.claim_event(platform, event_id)

    @property
    def max_file_bytes(self) -> int:
        """The largest attachment the bridge takes; a platform's downloader stops reading past it."""
        return self._catalog.intake.max_bytes

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
