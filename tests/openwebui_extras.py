"""OpenWebUI calls only tests make (set-up, clean-up, checks), through the client's one `call` method, so the
product client keeps only what the bridge uses."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bridge.openwebui import KnowledgeBase, OpenWebUIClient, UploadedFile, errors
from bridge.openwebui.client import _file, _knowledge


async def complete(client: OpenWebUIClient, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/chat/completions` with `stream: false`: the whole answer as one JSON object."""
    return await client.call(
        "POST", "/api/chat/completions", json={**body, "stream": False}, not_found=errors.ModelNotFound
    )


async def list_chats(client: OpenWebUIClient, page: int = 1) -> list[dict[str, Any]]:
    """`GET /api/v1/chats/list?page=N` (60 a page)."""
    return await client.call("GET", "/api/v1/chats/list", params={"page": page})


async def delete_chat(client: OpenWebUIClient, chat_id: str) -> bool:
    return bool(await client.call("DELETE", f"/api/v1/chats/{chat_id}"))


async def knowledge_create(client: OpenWebUIClient, name: str, description: str = "") -> KnowledgeBase:
    body = {"name": name, "description": description}
    return _knowledge(await client.call("POST", "/api/v1/knowledge/create", json=body))


async def knowledge_files(client: OpenWebUIClient, knowledge_id: str) -> list[UploadedFile]:
    """`GET /api/v1/knowledge/{id}/files`, every page (0.12 no longer lists files in the knowledge base)."""
    found: list[UploadedFile] = []
    page = 1
    while True:
        data = await client.call("GET", f"/api/v1/knowledge/{knowledge_id}/files", params={"page": page})
        items = data.get("items", [])
        found.extend(_file(item) for item in items)
        if not items or len(found) >= data.get("total", 0):
            return found
        page += 1


async def knowledge_delete(client: OpenWebUIClient, knowledge_id: str) -> bool:
    return bool(await client.call("DELETE", f"/api/v1/knowledge/{knowledge_id}/delete"))


async def query_collection(client: OpenWebUIClient, names: list[str], query: str, k: int = 4) -> dict[str, Any]:
    """`POST /api/v1/retrieval/query/collection` → `{documents, metadatas, distances}` (lists of lists)."""
    body = {"collection_names": names, "query": query, "k": k}
    return await client.call("POST", "/api/v1/retrieval/query/collection", json=body)


# --- tools, functions, models and web search (admin set-up, as an OpenWebUI admin does it) -----------

VAULT_TOOL = '''"""
title: Vault
"""


class Tools:
    def vault_lookup(self, query: str) -> str:
        """
        Look up the vault's code word.
        :param query: what to look up
        """
        return "The vault code word is MARKER-tool1."
'''
"""A Python tool whose result carries a marker: the upstream echoes markers of its context."""

STAMP_FILTER = '''"""
title: Stamp
"""


class Filter:
    def inlet(self, body: dict) -> dict:
        body["messages"][-1]["content"] += " MARKER-filter1"
        return body
'''
"""A filter function whose inlet adds a marker to the question, so the answer changes."""

TOGGLE_FILTER = '''"""
title: Toggled stamp
"""


class Filter:
    def __init__(self):
        self.toggle = True

    def inlet(self, body: dict) -> dict:
        body["messages"][-1]["content"] += " MARKER-toggle1"
        return body
'''
"""A filter a person can switch on and off in the web UI (`toggle`): it runs only when the request names it."""


STATUS_FILTER = """
class Filter:
    async def inlet(self, body, __event_emitter__=None):
        await __event_emitter__({"type": "status", "data": {"description": "Consulting the archive", "done": False}})
        return body
"""
"""A filter whose inlet reports a status over OpenWebUI's socket before the model answers."""


@contextlib.asynccontextmanager
async def global_filter(client: OpenWebUIClient, function_id: str, content: str) -> AsyncIterator[None]:
    """A filter function on for every model while the block runs (admin), deleted after it."""
    form = {"id": function_id, "name": function_id, "content": content, "meta": {"description": function_id}}
    await client.call("POST", "/api/v1/functions/create", json=form)
    try:
        await client.call("POST", f"/api/v1/functions/id/{function_id}/toggle")
        await client.call("POST", f"/api/v1/functions/id/{function_id}/toggle/global")
        yield
    finally:
        await client.call("DELETE", f"/api/v1/functions/id/{function_id}/delete")


async def ensure_created(client: OpenWebUIClient, path: str, body: dict[str, Any]) -> None:
    """`POST path` creating `body["id"]`, unless a test of this session created it already (the real
    server answers a taken id with 400 or 401)."""
    try:
        await client.call("POST", path, json=body)
    except (errors.BadRequest, errors.Unauthorized) as exc:
        if "taken" not in str(exc).lower() and "already" not in str(exc).lower():
            raise


async def create_tool(client: OpenWebUIClient, tool_id: str, name: str, content: str) -> None:
    """`POST /api/v1/tools/create`: a Python tool (admin, or the workspace.tools permission)."""
    body = {"id": tool_id, "name": name, "content": content, "meta": {"description": name}}
    await ensure_created(client, "/api/v1/tools/create", body)


async def create_model(client: OpenWebUIClient, model_id: str, base: str, meta: dict[str, Any]) -> None:
    """`POST /api/v1/models/create`: a workspace model over `base` with `meta` (`toolIds`, `filterIds`,
    `defaultFeatureIds`, `capabilities`), as the model editor saves it."""
    body = {"id": model_id, "name": model_id, "base_model_id": base, "meta": meta, "params": {}}
    await ensure_created(client, "/api/v1/models/create", body)


async def create_filter(client: OpenWebUIClient, function_id: str, content: str) -> None:
    """`POST /api/v1/functions/create`, then switched on (`/toggle`) but not global: it runs only for the
    models whose `meta.filterIds` name it, so other tests of the session are not changed."""
    body = {"id": function_id, "name": function_id, "content": content, "meta": {"description": function_id}}
    await ensure_created(client, "/api/v1/functions/create", body)
    function = await client.call("GET", f"/api/v1/functions/id/{function_id}")
    if not function.get("is_active"):
        await client.call("POST", f"/api/v1/functions/id/{function_id}/toggle")


async def use_search_engine(client: OpenWebUIClient, query_url: str) -> None:
    """Web search through a SearXNG-style engine at `query_url` (`POST /api/v1/retrieval/config/update`),
    its results' snippets used as they are (no page loading, no embedding)."""
    web = {
        "ENABLE_WEB_SEARCH": True,
        "WEB_SEARCH_ENGINE": "searxng",
        "SEARXNG_QUERY_URL": query_url,
        "WEB_SEARCH_RESULT_COUNT": 3,
        "BYPASS_WEB_SEARCH_WEB_LOADER": True,
        "BYPASS_WEB_SEARCH_EMBEDDING_AND_RETRIEVAL": True,
    }
    await client.call("POST", "/api/v1/retrieval/config/update", json={"web": web})


async def set_tasks(client: OpenWebUIClient, enabled: bool) -> None:
    """Turn OpenWebUI's title, tags and follow-up tasks on or off (admin: `/api/v1/tasks/config/update` takes
    the whole form, so the current one is sent back changed)."""
    config = await client.call("GET", "/api/v1/tasks/config")
    switches = ("ENABLE_TITLE_GENERATION", "ENABLE_TAGS_GENERATION", "ENABLE_FOLLOW_UP_GENERATION")
    await client.call("POST", "/api/v1/tasks/config/update", json={**config, **dict.fromkeys(switches, enabled)})


@contextlib.asynccontextmanager
async def tasks_turned_on(url: str, api_key: str) -> AsyncIterator[OpenWebUIClient]:
    """The title, tags and follow-up tasks on for the block (off again after it: the server is shared by the
    session's tests); gives the admin client."""
    async with OpenWebUIClient(url, api_key) as admin:
        await set_tasks(admin, True)
        try:
            yield admin
        finally:
            await set_tasks(admin, False)


async def after_answers(engine: Any) -> None:
    """Until the work after every answer (titles, tags, follow-ups) is done; none of it may need cancelling."""
    assert await engine.background.drain(30) == 0


async def set_image_generation(client: OpenWebUIClient, enabled: bool, images_url: str = "", key: str = "") -> None:
    """Point OpenWebUI's image generation at an OpenAI-compatible images API (`images_url` ends in `/v1`) and
    turn it on or off (admin: `/api/v1/images/config/update`, the whole form, sent back changed)."""
    config = await client.call("GET", "/api/v1/images/config")
    changes: dict[str, Any] = {"ENABLE_IMAGE_GENERATION": enabled, "IMAGE_GENERATION_ENGINE": "openai"}
    if images_url:
        changes |= {"IMAGES_OPENAI_API_BASE_URL": images_url, "IMAGES_OPENAI_API_KEY": key}
        changes |= {"IMAGE_GENERATION_MODEL": "dall-e-2", "IMAGE_SIZE": "512x512"}
    await client.call("POST", "/api/v1/images/config/update", json={**config, **changes})


async def chat_tags(client: OpenWebUIClient, chat_id: str) -> list[str]:
    """`GET /api/v1/chats/{id}/tags` → the tag ids."""
    return [str(tag["id"]) for tag in await client.call("GET", f"/api/v1/chats/{chat_id}/tags")]


async def create_prompt(client: OpenWebUIClient, command: str, name: str, content: str) -> None:
    """`POST /api/v1/prompts/create` (admin, or the workspace.prompts permission); a command a test of this
    session created already is kept (the server answers a taken command with 400)."""
    try:
        await client.call("POST", "/api/v1/prompts/create", json={"command": command, "name": name, "content": content})
    except errors.BadRequest as exc:
        if "already registered" not in str(exc):
            raise
