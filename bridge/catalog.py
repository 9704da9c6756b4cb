"""The catalog: what OpenWebUI offers (models, knowledge bases) and what each place has chosen.

The turn pipeline asks it which model and system prompt a conversation uses; the adapters' commands
(`/model`, `/system`, `/status`, `/kb`, `/new`) read and change the same things through the core.
"""

from __future__ import annotations

import time

from bridge import texts
from bridge.errors import UserFacingError
from bridge.intake import FileIntake
from bridge.messages import Attachment, ConversationKey
from bridge.openwebui import KnowledgeBase, Model, OpenWebUIClient, errors
from bridge.openwebui.acting import cache_label
from bridge.store import ScopeSettings, Store

MODELS_TTL = 60.0


class Catalog:
    """Models (cached for a minute), knowledge bases, per-place settings and chat links."""

    def __init__(
        self, client: OpenWebUIClient, store: Store, intake: FileIntake, *, default_model: str, system_prompt: str
    ) -> None:
        self.client = client
        self.store = store
        self.intake = intake
        self.default_model = default_model
        self.system_prompt = system_prompt
        self._models: dict[str, tuple[float, list[Model]]] = {}  # per identity: each sees its own models

    # --- models ---------------------------------------------------------------------------------

    async def models(self, *, refresh: bool = False) -> list[Model]:
        """The models OpenWebUI offers the key in use (`acting`), cached for a minute per identity."""
        label = cache_label()
        fetched_at, models = self._models.get(label, (float("-inf"), []))
        if refresh or not models or time.monotonic() - fetched_at > MODELS_TTL:
            models = await self.client.models()
            self._models[label] = (time.monotonic(), models)
        return models

    async def find_model(self, name: str) -> Model:
        """The model called `name` (id or display name); `UserFacingError` listing a few if none.

        A name missing from the cached list is looked up once more, fresh (a model added a moment ago).
        """
        for refresh in (False, True):
            models = await self.models(refresh=refresh)
            for model in models:
                if name in (model.id, model.name):
                    return model
        known = ", ".join(m.id for m in models[:10]) or "none"
        raise UserFacingError(f"There is no model `{name}` in OpenWebUI. Available: {known}.")

    async def resolve_model(self, asked: str | None, scoped: str | None) -> str:
        """The message's model, else its scope's, else the default, else OpenWebUI's first model."""
        if asked:
            return (await self.find_model(asked)).id
        if scoped:
            return scoped
        if self.default_model:
            return self.default_model
        models = await self.models()
        if not models:
            raise UserFacingError("OpenWebUI offers no models to this key; an admin must add or share one.")
        return models[0].id

    async def takes_images(self, model: str) -> bool:
        try:
            return (await self.find_model(model)).vision
        except UserFacingError:
            return False

    # --- settings per place ---------------------------------------------------------------------

    async def scope_settings(self, key: ConversationKey) -> ScopeSettings:
        return await self.store.scope_settings(key)

    def system_prompt_of(self, scoped: ScopeSettings) -> str:
        return scoped.system_prompt if scoped.system_prompt is not None else self.system_prompt

    async def set_model(self, scope: ConversationKey, name: str) -> Model:
        """Use model `name` in `scope` (checked against OpenWebUI); an empty name clears the setting."""
        if not name:
            await self.store.set_scope_settings(scope, model="")
            return Model(id=self.default_model or "", name="default")
        model = await self.find_model(name)
        await self.store.set_scope_settings(scope, model=model.id)
        return model

    async def set_system_prompt(self, scope: ConversationKey, prompt: str) -> None:
        """Set (or with "" clear) the system prompt of `scope`."""
        await self.store.set_scope_settings(scope, system_prompt=prompt)

    async def effective_settings(self, key: ConversationKey) -> tuple[str, str]:
        """(model, system prompt) in force for `key`, after inheritance and defaults."""
        scoped = await self.store.scope_settings(key)
        model = scoped.model or self.default_model
        if not model:
            models = await self.models()
            model = models[0].id if models else ""
        return model, self.system_prompt_of(scoped)

    # --- conversations --------------------------------------------------------------------------

    async def new_conversation(self, key: ConversationKey) -> bool:
        """`/new`: the next message in `key` starts a new OpenWebUI chat (the old one stays there)."""
        return await self.store.archive_conversation(key)

    async def has_conversation(self, key: ConversationKey, *, ever: bool = False) -> bool:
        """Whether `key` has a chat now; with `ever`, whether it ever had one (the bridge took part)."""
        return await self.store.conversation(key, include_archived=ever) is not None

    async def chat_link(self, key: ConversationKey) -> tuple[str, str]:
        """(chat id, web UI link) of the conversation at `key`, or ("", "") when it has none yet."""
        conversation = await self.store.conversation(key)
        if conversation is None:
            return "", ""
        return conversation.chat_id, f"{self.client.base_url}/c/{conversation.chat_id}"

    async def status(self, key: ConversationKey) -> texts.Status:
        """OpenWebUI's state, the settings in force at `key`, and its chat, for `/status`."""
        version: str | None = None
        problem = model = prompt = ""
        try:
            await self.client.health()
            version = await self.client.version()
            model, prompt = await self.effective_settings(key)
        except errors.OpenWebUIError as exc:
            version, problem = None, exc.user_message
        chat_id, link = await self.chat_link(key)
        return texts.Status(self.client.base_url, version, problem, model, prompt, chat_id, link)

    # --- knowledge ------------------------------------------------------------------------------

    async def knowledge_bases(self) -> list[KnowledgeBase]:
        return await self.client.knowledge_list()

    async def find_knowledge(self, name: str) -> str:
        """The id of the knowledge base called `name` (or with that id; the name's case may differ)."""
        bases = await self.client.knowledge_list()
        for base in bases:
            if name in (base.id, base.name):
                return base.id
        lowered = name.lower()
        for base in bases:
            if base.name.lower() == lowered:
                return base.id
        known = ", ".join(b.name for b in bases[:10]) or "none"
        raise UserFacingError(f"There is no knowledge base `{name}`. Available: {known}.")

    async def add_to_knowledge(self, name: str, attachments: list[Attachment]) -> list[str]:
        """Upload each file and add it to knowledge base `name`; one result line per file."""
        knowledge_id = await self.find_knowledge(name)
        lines = []
        for attachment in attachments:
            try:
                stored = await self.intake.upload(attachment)
                await self.client.knowledge_add_file(knowledge_id, stored.file_id)
                lines.append(texts.knowledge_added(attachment.filename, name))
            except UserFacingError as exc:
                lines.append(texts.file_problem(attachment.filename, str(exc)))
            except errors.OpenWebUIError as exc:
                lines.append(texts.file_problem(attachment.filename, exc.user_message))
        return lines
