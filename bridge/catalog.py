"""The catalog: what OpenWebUI offers (models, tools, knowledge bases) and what each place has chosen.

The turn pipeline asks it which model, system prompt, tools and features a conversation uses; the
adapters' commands (`/model`, `/system`, `/tools`, `/features`, `/status`, `/kb`, `/new`) read and change
the same things through the core.
"""

from __future__ import annotations

import time

from bridge import assistant, prompts, texts
from bridge.assistant import Assistance
from bridge.errors import UserFacingError
from bridge.intake import FileIntake
from bridge.messages import Attachment, ConversationKey
from bridge.openwebui import FEATURES, KnowledgeBase, Model, OpenWebUIClient, Prompt, Tool, errors
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
        self._tools: list[Tool] = []
        self._tools_at = float("-inf")
        self._prompts: list[Prompt] = []
        self._prompts_at = float("-inf")

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

    async def model_info(self, model: str) -> Model | None:
        """The listed model `model` (with its default tools and features), or None when OpenWebUI does not
        list it (the turn then fails with OpenWebUI's own answer)."""
        try:
            return await self.find_model(model)
        except UserFacingError:
            return None

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

    # --- tools and features per place -----------------------------------------------------------

    async def tools(self, *, refresh: bool = False) -> list[Tool]:
        """The tools OpenWebUI offers this key, cached for a minute (autocomplete asks often)."""
        if refresh or not self._tools or time.monotonic() - self._tools_at > MODELS_TTL:
            self._tools = await self.client.tools()
            self._tools_at = time.monotonic()
        return self._tools

    async def find_tool(self, name: str) -> Tool:
        """The tool with id or name `name` (any case); `UserFacingError` naming the ones there are if none."""
        for refresh in (False, True):
            tools = await self.tools(refresh=refresh)
            for tool in tools:
                if name in (tool.id, tool.name) or name.lower() in (tool.id.lower(), tool.name.lower()):
                    return tool
        known = ", ".join(f"`{t.id}`" for t in tools[:15]) or "none"
        raise UserFacingError(f"There is no tool `{name}` in OpenWebUI. Available: {known}.")

    async def switch_tool(self, scope: ConversationKey, name: str, on: bool | None) -> Tool:
        """Turn a tool on or off at `scope` (None: as inherited); a tool being turned on must exist, one
        being turned off or forgotten need not (it may have been deleted from OpenWebUI since)."""
        try:
            tool = await self.find_tool(name)
        except UserFacingError:
            if on:
                raise
            tool = Tool(name, name)
        await self.store.switch(scope, "tools", tool.id, on)
        return tool

    async def switch_feature(self, scope: ConversationKey, feature: str, on: bool | None) -> None:
        if feature not in FEATURES:
            raise UserFacingError(f"There is no feature `{feature}`. Features: {', '.join(FEATURES)}.")
        await self.store.switch(scope, "features", feature, on)

    async def assistance(self, model: str, scoped: ScopeSettings, asked: tuple[str, ...] = ()) -> Assistance:
        """The tools and features a turn with `model` uses at a place with `scoped` settings."""
        return assistant.assistance(await self.model_info(model), scoped.tools, scoped.features, asked)

    async def tool_names(self) -> dict[str, str]:
        """Tool names by id, for what people read; empty when OpenWebUI cannot list them now."""
        try:
            return {tool.id: tool.name for tool in await self.tools()}
        except errors.OpenWebUIError:
            return {}

    async def place_assistance(self, key: ConversationKey) -> texts.Assistance:
        """What `/tools` and `/features` show: what is in force at `key`, and where each comes from."""
        model, _ = await self.effective_settings(key)
        scoped = await self.store.scope_settings(key)
        info = await self.model_info(model) if model else None
        used = assistant.assistance(info, scoped.tools, scoped.features, ())
        names = await self.tool_names()
        return texts.Assistance(
            model=model,
            tools=[(names.get(t, t), t, t in scoped.tools) for t in used.tool_ids],
            features=[(f, f in scoped.features) for f in used.features],
            switched_off=[names.get(t, t) for t, on in scoped.tools.items() if not on]
            + [f for f, on in scoped.features.items() if not on],
            available=[(t.name, t.id) for t in await self.tools()] if names else [],
        )

    # --- the prompt library and suggestions -----------------------------------------------------

    async def prompts(self, *, refresh: bool = False) -> list[Prompt]:
        """OpenWebUI's prompt library as this key reads it, cached for a minute (autocomplete asks often)."""
        if refresh or time.monotonic() - self._prompts_at > MODELS_TTL:
            self._prompts = await self.client.prompts()
            self._prompts_at = time.monotonic()
        return self._prompts

    async def find_prompt(self, command: str) -> Prompt:
        """The prompt `command`; a command missing from the cached list is looked up once more, fresh."""
        try:
            return prompts.find(await self.prompts(), command)
        except UserFacingError:
            return prompts.find(await self.prompts(refresh=True), command)

    async def suggestions(self, key: ConversationKey) -> tuple[str, ...]:
        """The prompts OpenWebUI's model editor suggests for the model in force at `key` (none when the
        model has none, or OpenWebUI does not list it)."""
        model, _ = await self.effective_settings(key)
        info = await self.model_info(model) if model else None
        return info.suggestions if info else ()

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
