"""The core as adapters see it: one facade over turns, conversations, settings, models and knowledge.

An adapter gets a `Core` and its own settings, nothing else: it never holds the store or the OpenWebUI
client, so what the bridge does with a message is decided here once, for every platform.
"""

from __future__ import annotations

from bridge import texts
from bridge.answer_controls import AnswerControls
from bridge.catalog import Catalog
from bridge.engine import Engine
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.openwebui import KnowledgeBase, Model
from bridge.outcomes import TurnOutcome
from bridge.surface import ReplySurface


class Core:
    """What every adapter of the process shares."""

    def __init__(self, engine: Engine, catalog: Catalog) -> None:
        self._engine = engine
        self._catalog = catalog
        self.controls = AnswerControls(engine)
        """Stop, Regenerate, 👍/👎 and edited questions (`bridge.answer_controls`)."""

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

    # --- knowledge ------------------------------------------------------------------------------

    async def knowledge_bases(self) -> list[KnowledgeBase]:
        return await self._catalog.knowledge_bases()

    async def find_knowledge(self, name: str) -> str:
        """The id of knowledge base `name`; `UserFacingError` naming the ones there are if none."""
        return await self._catalog.find_knowledge(name)

    async def add_to_knowledge(self, name: str, attachments: list[Attachment]) -> list[str]:
        """Upload each file into knowledge base `name`; one result line per file."""
        return await self._catalog.add_to_knowledge(name, attachments)
