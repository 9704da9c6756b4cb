"""The fake OpenWebUI's tasks (titles, tags, follow-ups), chat tags, image generation and file downloads.

Copied from the real 0.12.4 as observed (`routers/tasks.py`, `routers/images.py`, `routers/chats.py`,
`routers/files.py`), and checked against it by the tests that run on both (`owui` fixture): a task the admin
turned off answers 200 with only a `detail`; a task on sends the task model one user message, the default
template quoting the chat's last messages as `ROLE: text` lines, and answers the model's completion as is;
image generation off answers 403; a generated picture is stored as a file named `generated-image.png`.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

if TYPE_CHECKING:
    from simulators.openwebui_fake import FakeOpenWebUI

TASKS = {
    # path kind: (config switch, what the template asks for, how many of the chat's last messages it quotes)
    "title": ("ENABLE_TITLE_GENERATION", '{ "title": "your concise title here" }', 2, "Title generation"),
    "tags": ("ENABLE_TAGS_GENERATION", '{ "tags": ["tag1", "tag2", "tag3"] }', 6, "Tags generation"),
    "follow_up": ("ENABLE_FOLLOW_UP_GENERATION", '{ "follow_ups": ["Next message"] }', 5, "Follow-up generation"),
}
ACCESS_PROHIBITED = (
    "You do not have permission to access this resource. Please contact your administrator for assistance."
)


class FakeAssistantRoutes:
    """The routes, over the fake's state (`owui.files`, `owui.chats`) and its upstream session."""

    def __init__(self, owui: FakeOpenWebUI) -> None:
        self.owui = owui
        self.task_config: dict[str, Any] = {switch: False for switch, *_ in TASKS.values()}
        self.image_config: dict[str, Any] = {
            "ENABLE_IMAGE_GENERATION": False,
            "IMAGE_GENERATION_ENGINE": "openai",
            "IMAGE_GENERATION_MODEL": "",
            "IMAGES_OPENAI_API_BASE_URL": "",
            "IMAGES_OPENAI_API_KEY": "",
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/tasks/config", self._task_config),
            web.post("/api/v1/tasks/config/update", self._task_config_update),
            web.post("/api/v1/tasks/{kind}/completions", self._task),
            web.get("/api/v1/chats/{id}/tags", self._tags),
            web.post("/api/v1/chats/{id}/tags", self._tag_add),
            web.get("/api/v1/images/config", self._image_config),
            web.post("/api/v1/images/config/update", self._image_config_update),
            web.post("/api/v1/images/generations", self._generate),
            web.get("/api/v1/files/{id}/content", self._file_content),
        ]

    # --- tasks ----------------------------------------------------------------------------------

    async def _task_config(self, request: web.Request) -> web.Response:
        return web.json_response(self.task_config)

    async def _task_config_update(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.task_config.update({key: body[key] for key in self.task_config if key in body})
        return web.json_response(self.task_config)

    async def _task(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in TASKS:
            return web.json_response({"detail": "Not Found"}, status=404)
        switch, wanted, quoted, name = TASKS[kind]
        if not self.task_config[switch]:
            return web.json_response({"detail": f"{name} is disabled"})
        body = await request.json()
        if body.get("model") not in {m["id"] for m in await self.owui.upstream_models()}:
            return web.json_response({"detail": "Model not found"}, status=404)
        history = "\n".join(
            f"{str(m.get('role', '')).upper()}: {_text(m.get('content'))}" for m in body.get("messages", [])[-quoted:]
        )
        prompt = f"### Task:\nDo the {kind} task.\nJSON format: {wanted}\n<chat_history>\n{history}\n</chat_history>"
        task_body = {"model": body["model"], "messages": [{"role": "user", "content": prompt}], "stream": False}
        async with self.owui.upstream().post(f"{self.owui.upstream_url}/chat/completions", json=task_body) as answer:
            return web.json_response(await answer.json(content_type=None), status=answer.status)

    # --- chat tags ------------------------------------------------------------------------------

    def _tag_list(self, chat_id: str) -> list[dict[str, Any]]:
        tags = self.owui.chats[chat_id].get("tags", [])
        return [{"id": tag, "name": name, "user_id": "fake-user", "meta": None} for tag, name in tags]

    async def _tags(self, request: web.Request) -> web.Response:
        chat_id = request.match_info["id"]
        if chat_id not in self.owui.chats:
            return web.json_response({"detail": "We could not find what you're looking for :/"}, status=401)
        return web.json_response(self._tag_list(chat_id))

    async def _tag_add(self, request: web.Request) -> web.Response:
        chat_id = request.match_info["id"]
        if chat_id not in self.owui.chats:
            return web.json_response({"detail": "We could not find what you're looking for :/"}, status=401)
        name = str((await request.json()).get("name", ""))
        tag = name.replace(" ", "_").lower()
        if tag == "none":
            return web.json_response({"detail": "Tag name cannot be 'None'"}, status=400)
        tags = self.owui.chats[chat_id].setdefault("tags", [])
        if tag not in [t for t, _ in tags]:
            tags.append((tag, name))
        return web.json_response(self._tag_list(chat_id))

    # --- images and file content ----------------------------------------------------------------

    async def _image_config(self, request: web.Request) -> web.Response:
        return web.json_response(self.image_config)

    async def _image_config_update(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.image_config.update({key: body[key] for key in self.image_config if key in body})
        return web.json_response(self.image_config)

    async def _generate(self, request: web.Request) -> web.Response:
        config = self.image_config
        if not config["ENABLE_IMAGE_GENERATION"]:
            return web.json_response({"detail": ACCESS_PROHIBITED}, status=403)
        prompt = str((await request.json()).get("prompt", ""))
        body = {"model": config["IMAGE_GENERATION_MODEL"] or "dall-e-2", "prompt": prompt, "n": 1}
        url = f"{str(config['IMAGES_OPENAI_API_BASE_URL']).rstrip('/')}/images/generations"
        headers = {"Authorization": f"Bearer {config['IMAGES_OPENAI_API_KEY']}"}
        async with self.owui.upstream().post(url, json={**body, "response_format": "b64_json"}, headers=headers) as r:
            if r.status >= 400:
                return web.json_response({"detail": "[ERROR: image engine failed]"}, status=400)
            drawn = (await r.json())["data"]
        made = []
        for picture in drawn:
            file = self.owui.add_file("generated-image.png", "image/png", base64.b64decode(picture["b64_json"]))
            made.append(
                {
                    "id": file.id,
                    "url": f"/api/v1/files/{file.id}/content",
                    "name": file.filename,
                    "content_type": file.content_type,
                }
            )
        return web.json_response(made)

    async def _file_content(self, request: web.Request) -> web.Response:
        file = self.owui.files.get(request.match_info["id"])
        if file is None:
            return web.json_response({"detail": "We could not find what you're looking for :/"}, status=404)
        headers = {}
        if file.content_type != "text/plain":
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file.filename)}"
        return web.Response(body=file.data, content_type=file.content_type, headers=headers)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return next((str(p.get("text")) for p in content if isinstance(p, dict) and p.get("type") == "text"), "")
    return str(content or "")
