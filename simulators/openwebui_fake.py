"""An in-process stand-in for OpenWebUI 0.12.4: the subset of its API the bridge uses, on loopback.

It exists for fast tests and the benchmark. Its behaviour copies the real server's as observed (see
`tests/contract/`, where the same client and engine tests run against both this fake and a real
OpenWebUI, so a difference between them fails the suite): chat updates merge `history.messages` by id
and keep a stored unfinished assistant message, unknown chats answer 401, unknown paths answer the web
UI's HTML page, completions pass through to the model upstream with RAG context injected and a
`sources` event first.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from simulators.model_upstream import MARKER_RE
from simulators.openwebui_fake_tasks import FakeAssistantRoutes

HTML_PAGE = "<!doctype html><html><head><title>Open WebUI</title></head><body></body></html>"
NOT_PROCESSED = re.compile(r"^(image|video|audio)/")


@dataclass(frozen=True)
class FakeUser:
    """An OpenWebUI user as `GET /api/v1/users/user/status` shows them (the fields the bridge reads)."""

    id: str
    name: str
    email: str
    role: str


USER = web.RequestKey("user", FakeUser)
"""The user of the request's API key (set by the auth middleware)."""


@dataclass
class FakeFile:
    id: str
    filename: str
    content_type: str
    text: str
    status: str = "pending"
    error: str = ""
    size: int = 0
    created_at: int = field(default_factory=lambda: int(time.time()))
    data: bytes = b""


@dataclass
class FakeKnowledge:
    id: str
    name: str
    description: str
    file_ids: list[str] = field(default_factory=list)


class FakeOpenWebUI:
    """`async with FakeOpenWebUI(upstream_base_url, api_key) as owui:` then point the bridge at `owui.url`."""

    def __init__(
        self,
        upstream_url: str,
        api_key: str = "sk-fake-bridge-key",
        *,
        upstream_key: str = "sk-fake",
        processing_delay: float = 0.05,
    ):
        self.upstream_url = upstream_url.rstrip("/")
        self.upstream_key = upstream_key
        self.api_key = api_key
        self.users: dict[str, FakeUser] = {api_key: FakeUser("fake-user", "Bridge Admin", "admin@bridge.test", "admin")}
        """Every valid API key and its user (`add_user`, `revoke`): the bridge's own key is the admin's."""
        self.model_access: dict[str, set[str]] = {}
        """Models only some users may use (`restrict_model`); an admin sees every model, as on the real server."""
        self.processing_delay = processing_delay
        self.chats: dict[str, dict[str, Any]] = {}
        self.files: dict[str, FakeFile] = {}
        self.knowledge: dict[str, FakeKnowledge] = {}
        self.requests: list[tuple[float, str, str]] = []
        self.feedback: dict[str, dict[str, Any]] = {}
        self.down = False
        self.planted_sources: dict[str, list[dict[str, str]]] = {}
        """Sources a test plants, as `{"name": ..., "url": ...}`, for every question that contains the key:
        names and URLs as hostile as documents or a web search can make them (OpenWebUI relays them)."""
        self.tools: list[dict[str, Any]] = []
        """What `GET /api/v1/tools/` lists, as `{"id", "name", "meta": {"description"}}` (a test adds them; the
        fake runs none: a completion's `tool_ids` and `features` go to the upstream unused)."""
        self.model_meta: dict[str, dict[str, Any]] = {}
        """`info.meta` of a model by id (`toolIds`, `defaultFeatureIds`, `capabilities`), as an admin's
        workspace model has it in `/api/models`."""
        self.prompts: list[dict[str, Any]] = []
        """The prompt library (`GET /api/v1/prompts/`), as `POST /api/v1/prompts/create` stores it."""
        self.completions: list[dict[str, Any]] = []
        """Every completion request's body, as the bridge sent it."""
        self.trusted_email_header = ""
        """OpenWebUI's `WEBUI_AUTH_TRUSTED_EMAIL_HEADER`: set, `POST /api/v1/auths/signin` signs in as the user
        of the email that header carries (creating a `pending` one for an unknown email, as the real server
        does) and answers a session token; unset, a sign-in without a password fails."""
        self.session_seconds: float | None = 28 * 86400.0
        """A session token's life (`JWT_EXPIRES_IN`, 4 weeks by default; None: no expiry)."""
        self.session_expiry: dict[str, float] = {}
        """Each session token's `expires_at`; after it the token answers 401 "Invalid token"."""
        self.assistant = FakeAssistantRoutes(self)
        """Tasks, chat tags, image generation and file downloads, with their admin switches (off by default)."""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        routes = [
            web.get("/health", self._health),
            web.get("/api/version", self._version),
            web.get("/api/models", self._models),
            web.get("/api/v1/models", self._models),
            web.get("/api/v1/tools/", self._tools),
            web.get("/api/v1/users/user/status", self._user_status),
            web.get("/api/v1/prompts/", self._prompts),
            web.post("/api/v1/prompts/create", self._prompt_create),
            web.get("/api/v1/users/search", self._user_search),
            web.post("/api/v1/auths/signin", self._signin),
            web.post("/api/v1/chats/new", self._chat_new),
            web.get("/api/v1/chats/list", self._chat_list),
            web.get("/api/v1/chats/{id}", self._chat_get),
            web.post("/api/v1/chats/{id}", self._chat_update),
            web.delete("/api/v1/chats/{id}", self._chat_delete),
            web.post("/api/chat/completions", self._completions),
            web.post("/api/v1/chat/completions", self._completions),
            web.post("/api/v1/files/", self._file_upload),
            web.get("/api/v1/files/{id}/process/status", self._file_status),
            web.delete("/api/v1/files/{id}", self._file_delete),
            web.get("/api/v1/knowledge/", self._kb_list),
            web.post("/api/v1/knowledge/create", self._kb_create),
            web.get("/api/v1/knowledge/{id}", self._kb_get),
            web.get("/api/v1/knowledge/{id}/files", self._kb_files),
            web.post("/api/v1/knowledge/{id}/file/add", self._kb_add),
            web.delete("/api/v1/knowledge/{id}/delete", self._kb_delete),
            web.post("/api/v1/retrieval/query/collection", self._query),
            *self.assistant.routes(),
            web.post("/api/v1/evaluations/feedback", self._feedback_create),
            web.get("/api/v1/evaluations/feedback/{id}", self._feedback_get),
            web.post("/api/v1/evaluations/feedback/{id}", self._feedback_update),
            web.get("/api/v1/evaluations/feedbacks/user", self._feedback_mine),
            web.route("*", "/{tail:.*}", self._web_ui),
        ]
        app.add_routes(routes)
        # No connection cap: like the real server (which uses aiohttp for this too), every completion gets its
        # own upstream stream.
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=300),
            headers={"Authorization": f"Bearer {self.upstream_key}"},
            connector=aiohttp.TCPConnector(limit=0),
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._http:
            await self._http.close()

    async def __aenter__(self) -> FakeOpenWebUI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- plumbing -------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((time.monotonic(), request.method, request.path))
        if self.down:
            raise web.HTTPServiceUnavailable(text="down")
        open_paths = ("/health", "/api/version", "/api/v1/auths/signin")
        if request.path.startswith("/api") and request.path not in open_paths and handler != self._web_ui:
            auth = request.headers.get("Authorization", "")
            if not auth:
                return web.json_response({"detail": "Not authenticated"}, status=401)
            token = auth.removeprefix("Bearer ")
            if self.session_expiry.get(token, math.inf) <= time.time():
                return web.json_response({"detail": "Invalid token"}, status=401)
            user = self.users.get(token)
            if user is None:
                return web.json_response({"detail": "Your session has expired or the token is invalid."}, status=401)
            request[USER] = user
        return await handler(request)

    # --- users (as `tests/contract/test_identity_contract.py` checks them on the real server) -------

    def add_user(self, name: str, email: str = "") -> str:
        """A non-admin user with an API key (what an admin makes with `/api/v1/auths/add`); returns the key."""
        key = f"sk-{uuid.uuid4().hex}"
        self.users[key] = FakeUser(f"user-{uuid.uuid4().hex[:8]}", name, email or f"{name.lower()}@bridge.test", "user")
        return key

    def user_of(self, key: str) -> FakeUser:
        return self.users[key]

    def revoke(self, key: str) -> None:
        """The user deleted their key: it answers 401 from now on."""
        del self.users[key]

    def restrict_model(self, model_id: str, *user_ids: str) -> None:
        """Only these users (and admins) see and may use `model_id`."""
        self.model_access[model_id] = set(user_ids)

    def _may_use(self, user: FakeUser, model_id: str) -> bool:
        allowed = self.model_access.get(model_id)
        return user.role == "admin" or allowed is None or user.id in allowed

    async def _user_status(self, request: web.Request) -> web.Response:
        user: FakeUser = request[USER]
        return web.json_response({"id": user.id, "name": user.name, "email": user.email, "role": user.role})

    async def _user_search(self, request: web.Request) -> web.Response:
        """Every user whose name or email contains `query` (any verified user may ask, as on the real server)."""
        query = request.query.get("query", "").lower()
        found = {u.id: u for u in self.users.values() if query in u.name.lower() or query in u.email.lower()}
        users = [{"id": u.id, "name": u.name, "email": u.email, "role": u.role} for u in found.values()]
        return web.json_response({"users": users, "total": len(users)})

    async def _signin(self, request: web.Request) -> web.Response:
        """The trusted-header sign-in (`trusted_email_header`), as `routers/auths.py` does it in 0.12.4."""
        if not self.trusted_email_header:
            detail = "The email or password provided is incorrect. Please check for typos and try logging in again."
            return web.json_response({"detail": detail}, status=400)
        email = request.headers.get(self.trusted_email_header, "").lower()
        if not email:
            detail = (
                "Your provider has not provided a trusted header. Please contact your administrator for assistance."
            )
            return web.json_response({"detail": detail}, status=400)
        user = next((u for u in self.users.values() if u.email == email), None)
        user = user or FakeUser(f"user-{uuid.uuid4().hex[:8]}", email, email, "pending")
        token = f"eyJ{uuid.uuid4().hex}.{uuid.uuid4().hex}.{uuid.uuid4().hex}"
        self.users[token] = user
        expires_at = int(time.time() + self.session_seconds) if self.session_seconds is not None else None
        if expires_at is not None:
            self.session_expiry[token] = expires_at
        session = {"token": token, "token_type": "Bearer", "expires_at": expires_at}
        return web.json_response(session | {"id": user.id, "email": user.email, "name": user.name, "role": user.role})

    async def _web_ui(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            return web.json_response({"detail": "Method Not Allowed"}, status=405)
        return web.Response(text=HTML_PAGE, content_type="text/html")

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": True})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "0.12.4"})

    def upstream(self) -> aiohttp.ClientSession:
        """The session to the model upstream (with its key), as the real server holds one."""
        assert self._http
        return self._http

    async def upstream_models(self) -> list[dict[str, Any]]:
        async with self.upstream().get(f"{self.upstream_url}/models") as response:
            return (await response.json())["data"]

    async def _models(self, request: web.Request) -> web.Response:
        models = [
            {"id": m["id"], "name": m["id"], "object": "model", "owned_by": "openai", "connection_type": "external"}
            | ({"info": {"id": m["id"], "meta": self.model_meta[m["id"]]}} if m["id"] in self.model_meta else {})
            for m in await self.upstream_models()
            if self._may_use(request[USER], m["id"])
        ]
        return web.json_response({"data": models})

    async def _tools(self, request: web.Request) -> web.Response:
        return web.json_response(self.tools)

    async def _prompts(self, request: web.Request) -> web.Response:
        return web.json_response(self.prompts)

    async def _prompt_create(self, request: web.Request) -> web.Response:
        """As 0.12.4's `create_new_prompt`: a taken command is refused with 400, the command kept as given."""
        form = await request.json()
        if any(p["command"] == form["command"] for p in self.prompts):
            taken = "Uh-oh! This command is already registered. Please choose another command string."
            return web.json_response({"detail": taken}, status=400)
        prompt = {
            "id": str(uuid.uuid4()),
            "command": form["command"],
            "user_id": "fake-user",
            "name": form["name"],
            "content": form["content"],
            "data": form.get("data"),
            "meta": form.get("meta"),
            "tags": form.get("tags") or [],
            "is_active": True,
            "version_id": None,
            "created_at": int(time.time()),
            "updated_at": int(time.time()),
            "access_grants": [],
        }
        self.prompts.append(prompt)
        return web.json_response(prompt)

    # --- chats ----------------------------------------------------------------------------------

    def _chat_response(self, chat_id: str) -> dict[str, Any]:
        stored = self.chats[chat_id]
        return {
            "id": chat_id,
            "user_id": stored.get("user_id", "fake-user"),
            "title": stored["chat"].get("title", "New Chat"),
            "chat": stored["chat"],
            "updated_at": stored["updated_at"],
            "created_at": stored["created_at"],
            "share_id": None,
            "archived": False,
            "pinned": False,
            "meta": {"tags": [tag for tag, _ in stored.get("tags", [])]},
            "folder_id": None,
        }

    async def _chat_new(self, request: web.Request) -> web.Response:
        body = _stored(await request.json())
        chat_id = str(uuid.uuid4())
        now = int(time.time())
        chat = dict(body.get("chat") or {})
        chat.setdefault("title", "New Chat")
        self.chats[chat_id] = {"chat": chat, "created_at": now, "updated_at": now, "user_id": request[USER].id}
        return web.json_response(self._chat_response(chat_id))

    async def _chat_list(self, request: web.Request) -> web.Response:
        mine = {cid: c for cid, c in self.chats.items() if not self._foreign(request, cid)}
        ordered = sorted(mine.items(), key=lambda item: item[1]["updated_at"], reverse=True)
        return web.json_response(
            [
                {
                    "id": cid,
                    "title": c["chat"].get("title"),
                    "updated_at": c["updated_at"],
                    "created_at": c["created_at"],
                }
                for cid, c in ordered
            ]
        )

    def _unknown_chat(self) -> web.Response:
        return web.json_response(
            {
                "detail": "You do not have permission to access this resource. Please "
                "contact your administrator for assistance."
            },
            status=401,
        )

    def _foreign(self, request: web.Request, chat_id: str) -> bool:
        """Unknown, or another user's: the real server answers both with the same 401."""
        return chat_id not in self.chats or self.chats[chat_id].get("user_id", "fake-user") != request[USER].id

    def chats_of(self, key: str) -> list[dict[str, Any]]:
        """The stored chats of the user of `key` (what `GET /api/v1/chats/list` shows them)."""
        user_id = self.users[key].id if key in self.users else ""
        return [c["chat"] for c in self.chats.values() if c.get("user_id", "fake-user") == user_id]

    async def _chat_get(self, request: web.Request) -> web.Response:
        chat_id = request.match_info["id"]
        if self._foreign(request, chat_id):
            return self._unknown_chat()
        return web.json_response(self._chat_response(chat_id))

    async def _chat_update(self, request: web.Request) -> web.Response:
        chat_id = request.match_info["id"]
        if self._foreign(request, chat_id):
            return self._unknown_chat()
        incoming = _stored(await request.json()).get("chat") or {}
        stored = self.chats[chat_id]["chat"]
        old_messages = (stored.get("history") or {}).get("messages") or {}
        merged = {**stored, **incoming}
        if "history" in incoming:
            messages = dict(old_messages)
            for mid, message in ((incoming["history"] or {}).get("messages") or {}).items():
                kept = old_messages.get(mid)
                if kept and kept.get("role") == "assistant" and kept.get("done") is False:
                    continue  # the real server takes it for its own generation in progress
                messages[mid] = message
            for message in messages.values():  # the server recomputes childrenIds from parentId
                message["childrenIds"] = [m["id"] for m in messages.values() if m.get("parentId") == message["id"]]
            current = (incoming["history"] or {}).get("currentId")
            stored_current = (stored.get("history") or {}).get("currentId")
            merged["history"] = {"messages": messages, "currentId": current if current in messages else stored_current}
        self.chats[chat_id] = {**self.chats[chat_id], "chat": merged, "updated_at": int(time.time())}
        return web.json_response(self._chat_response(chat_id))

    async def _chat_delete(self, request: web.Request) -> web.Response:
        self.chats.pop(request.match_info["id"], None)
        return web.json_response(True)

    # --- completions ----------------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.completions.append(body)
        model = body.get("model")
        known = {m["id"] for m in await self.upstream_models()}
        if model not in known or not self._may_use(request[USER], model):
            return web.json_response({"detail": "Model not found"}, status=400)
        messages = list(body.get("messages") or [])
        question = _last_user_text(messages)
        sources = self._retrieve(body.get("files") or [], question) + self._planted(question)
        if sources:
            context = "\n".join(f'<source id="{i + 1}">{s["document"][0]}</source>' for i, s in enumerate(sources))
            messages.insert(
                0, {"role": "system", "content": f"### Task:\nUse the context.\n<context>\n{context}\n</context>"}
            )
        upstream_body = {**body, "messages": messages}
        upstream_body.pop("files", None)
        stream = body.get("stream", False)  # OpenWebUI forwards the body; the provider's default is no stream
        assert self._http
        request_body = {**upstream_body, "stream": bool(stream)}
        async with self._http.post(f"{self.upstream_url}/chat/completions", json=request_body) as upstream:
            if upstream.status >= 400 or not stream:
                data = await upstream.json(content_type=None)
                if sources and upstream.status < 400:
                    data["sources"] = sources
                return web.json_response(data, status=upstream.status)
            out = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
            await out.prepare(request)
            if sources:
                await out.write(f"data: {json.dumps({'sources': sources})}\n\n".encode())
            try:
                # byte for byte, as the real server passes a stream through: huge lines, comments and bytes
                # that are not UTF-8 included
                async for chunk in upstream.content.iter_any():
                    await out.write(chunk)
            except aiohttp.ClientConnectionResetError:
                return out  # the bridge went away (a stopped answer): nobody is left to tell
            except aiohttp.ClientError:
                error = {"error": {"message": "Chat completion stream failed"}}
                await out.write(f"data: {json.dumps(error)}\n\ndata: [DONE]\n\n".encode())
            return out

    def _retrieve(self, refs: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
        """Whole-document "retrieval": every referenced file's text, named like the real `sources`."""
        sources = []
        for ref in refs:
            file_ids: list[str] = []
            collection_name = ""
            if ref.get("type") == "file" and ref.get("id") in self.files:
                file_ids = [ref["id"]]
            elif ref.get("type") == "collection" and ref.get("id") in self.knowledge:
                kb = self.knowledge[ref["id"]]
                file_ids, collection_name = list(kb.file_ids), kb.name
            for file_id in file_ids:
                file = self.files[file_id]
                if file.status != "completed":
                    continue
                sources.append(
                    {
                        "source": {"id": ref["id"], "name": collection_name or file.filename, "type": ref["type"]},
                        "document": [file.text],
                        "metadata": [{"file_id": file.id, "name": file.filename, "source": file.filename}],
                        "distances": [0.9],
                    }
                )
        return sources

    def _planted(self, question: str) -> list[dict[str, Any]]:
        """The planted sources whose key is in the question, shaped like a web search result's."""
        return [
            {
                "source": {"id": planted["url"], "name": planted["name"], "url": planted["url"], "type": "web"},
                "document": [f"a document from {key}"],
                "metadata": [{"name": planted["name"], "source": planted["url"]}],
                "distances": [0.9],
            }
            for key, items in self.planted_sources.items()
            if key in question
            for planted in items
        ]

    # --- files and knowledge --------------------------------------------------------------------

    async def _file_upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return web.json_response({"detail": "file is required"}, status=422)
        data = upload.file.read()
        if not data:
            return web.json_response(
                {
                    "detail": "The content provided is empty. Please ensure that there is text "
                    "or data present before proceeding."
                },
                status=400,
            )
        file = self.add_file(upload.filename, upload.content_type or "application/octet-stream", data)
        asyncio.get_running_loop().call_later(self.processing_delay, self._process, file)
        return web.json_response(self._file_json(file))

    def add_file(self, filename: str, content_type: str, data: bytes) -> FakeFile:
        """Store a file as an upload or a generated picture does."""
        file = FakeFile(str(uuid.uuid4()), filename, content_type, _extract_text(data, content_type), data=data)
        file.size = len(data)
        self.files[file.id] = file
        return file

    def _file_json(self, file: FakeFile) -> dict[str, Any]:
        return {
            "id": file.id,
            "user_id": "fake-user",
            "hash": None,
            "filename": file.filename,
            "data": {"status": file.status},
            "meta": {"name": file.filename, "content_type": file.content_type, "size": file.size},
            "created_at": file.created_at,
            "updated_at": file.created_at,
        }

    def _process(self, file: FakeFile) -> None:
        """As the real server: media fails, a PDF without text fails, anything else "extracts"."""
        if NOT_PROCESSED.match(file.content_type):
            file.status, file.error = "failed", f"File type {file.content_type} is not supported for processing"
        elif not file.text.strip():
            file.status, file.error = "failed", "Stream has ended unexpectedly"
        else:
            file.status = "completed"

    async def _file_status(self, request: web.Request) -> web.Response:
        file = self.files.get(request.match_info["id"])
        if file is None:
            return web.json_response({"detail": "We could not find what you're looking for :/"}, status=404)
        body: dict[str, Any] = {"status": file.status}
        if file.error:
            body["error"] = file.error
        return web.json_response(body)

    async def _file_delete(self, request: web.Request) -> web.Response:
        self.files.pop(request.match_info["id"], None)
        return web.json_response({"message": "File deleted successfully"})

    def _kb_json(self, kb: FakeKnowledge) -> dict[str, Any]:
        return {
            "id": kb.id,
            "user_id": "fake-user",
            "name": kb.name,
            "description": kb.description,
            "files": None,
            "created_at": 0,
            "updated_at": 0,
        }

    async def _kb_files(self, request: web.Request) -> web.Response:
        kb = self._kb(request)
        items = [self._file_json(self.files[f]) for f in kb.file_ids if f in self.files]
        return web.json_response({"items": items, "directories": [], "breadcrumbs": [], "total": len(items)})

    async def _kb_list(self, request: web.Request) -> web.Response:
        items = [self._kb_json(kb) for kb in self.knowledge.values()]
        return web.json_response({"items": items, "total": len(items)})

    async def _kb_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        kb = FakeKnowledge(str(uuid.uuid4()), body["name"], body.get("description", ""))
        self.knowledge[kb.id] = kb
        return web.json_response(self._kb_json(kb))

    def _kb(self, request: web.Request) -> FakeKnowledge:
        kb = self.knowledge.get(request.match_info["id"])
        if kb is None:
            raise web.HTTPNotFound(
                text=json.dumps({"detail": "We could not find what you're looking for :/"}),
                content_type="application/json",
            )
        return kb

    async def _kb_get(self, request: web.Request) -> web.Response:
        return web.json_response(self._kb_json(self._kb(request)))

    async def _kb_add(self, request: web.Request) -> web.Response:
        kb = self._kb(request)
        file_id = (await request.json()).get("file_id")
        file = self.files.get(file_id or "")
        if file is None or file.status != "completed":
            return web.json_response({"detail": "File content has not been processed yet"}, status=400)
        kb.file_ids.append(file.id)
        return web.json_response(self._kb_json(kb))

    async def _kb_delete(self, request: web.Request) -> web.Response:
        self.knowledge.pop(self._kb(request).id)
        return web.json_response(True)

    # --- evaluations (the feedback the web UI's 👍/👎 create) ------------------------------------

    async def _feedback_create(self, request: web.Request) -> web.Response:
        now = int(time.time())
        feedback = {
            **_feedback_form(await request.json()),
            "id": str(uuid.uuid4()),
            "user_id": "bridge-user",
            "version": 0,
            "created_at": now,
            "updated_at": now,
        }
        self.feedback[feedback["id"]] = feedback
        return web.json_response(feedback)

    async def _feedback_get(self, request: web.Request) -> web.Response:
        feedback = self.feedback.get(request.match_info["id"])
        if feedback is None:
            return web.json_response(FEEDBACK_NOT_FOUND, status=404)
        return web.json_response(feedback)

    async def _feedback_update(self, request: web.Request) -> web.Response:
        """Like the real server: `data`, `meta` and `snapshot` are replaced only when sent non-empty."""
        feedback = self.feedback.get(request.match_info["id"])
        if feedback is None:
            return web.json_response(FEEDBACK_NOT_FOUND, status=404)
        form = _feedback_form(await request.json())
        for name in ("data", "meta", "snapshot"):
            if form[name]:
                feedback[name] = form[name]
        feedback["updated_at"] = int(time.time())
        return web.json_response(feedback)

    async def _feedback_mine(self, request: web.Request) -> web.Response:
        mine = sorted(self.feedback.values(), key=lambda f: f["updated_at"], reverse=True)
        items = [{k: v for k, v in f.items() if k != "snapshot"} for f in mine]  # the list leaves snapshots out
        return web.json_response({"items": items, "total": len(items)})

    async def _query(self, request: web.Request) -> web.Response:
        body = await request.json()
        refs = [{"type": "collection", "id": name} for name in body.get("collection_names", [])]
        sources = self._retrieve(refs, body.get("query", ""))
        return web.json_response(
            {
                "documents": [[s["document"][0] for s in sources]],
                "metadatas": [[s["metadata"][0] for s in sources]],
                "distances": [[s["distances"][0] for s in sources]],
            }
        )


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


FEEDBACK_NOT_FOUND = {"detail": "We could not find what you're looking for :/"}
RATING_FIELDS = ("rating", "model_id", "sibling_model_ids", "reason", "comment")


def _feedback_form(body: dict[str, Any]) -> dict[str, Any]:
    """A `FeedbackForm` as the real server keeps it: `data` dumped with every `RatingData` field (None when
    not sent, extra keys kept); client-supplied ids and timestamps dropped."""
    data = body.get("data")
    if isinstance(data, dict):
        data = {**{name: None for name in RATING_FIELDS}, **data}
    return {"type": str(body.get("type", "")), "data": data, "meta": body.get("meta"), "snapshot": body.get("snapshot")}


def _stored(value: Any) -> Any:
    """What the real server keeps of a chat: it drops NUL characters and unpaired UTF-16 surrogates from
    every string before storing (0.12.4 `sanitize_data_for_db`), so a lone half of an emoji vanishes."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, dict):
        return {_stored(key): _stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stored(item) for item in value]
    return value


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def _extract_text(data: bytes, content_type: str) -> str:
    """Text of a text file, the marker-looking words of a PDF's content streams (enough for tests), or,
    like the real server, whatever the bytes decode to."""
    if content_type == "application/pdf":
        return " ".join(MARKER_RE.findall(data.decode("latin-1")))
    return data.decode("utf-8", errors="replace")
