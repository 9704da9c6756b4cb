"""Pictures and files an answer produced, posted in the conversation as attachments.

Where they come from:

* **The image generation step.** OpenWebUI's pass-through mode, the API-key path, skips it (its handler
  returns at once without a saved chat: `utils/middleware.py`, `chat_image_generation_handler`), so when a
  turn asks for `features.image_generation` the bridge takes the step itself, as that handler would: the
  admin's image engine draws the person's words (`POST /api/v1/images/generations`, which stores each
  picture as an OpenWebUI file), and the model is told, in the same words OpenWebUI uses, that the picture
  was made or why not.
* **Markdown images in the answer** that point at OpenWebUI's files (`/api/v1/files/{id}/content`) or carry
  the picture as a `data:` URL (image models that answer with pictures do so).
* **OpenWebUI `files` items** (`{"type": "image", "url": ...}`): the web UI's path sends these as events.

Each is downloaded through the OpenWebUI client (up to the smaller of the platform's upload limit and
`BRIDGE_MAX_FILE_BYTES`) and posted under the answer; a file over the limit, or on a platform that takes
none, gets a short note with its OpenWebUI link instead.
"""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from bridge import texts
from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui import chat as chats
from bridge.surface import OutgoingFile, ReplySurface

log = logging.getLogger(__name__)

MAX_FILES = 10
"""At most this many files of one answer are posted (a model could link hundreds)."""

IMAGE_MADE = (
    "<context>The requested image has been created by the system successfully and is now being shown to the "
    "user. Let the user know that the image they requested has been generated and is now shown in the chat."
    "</context>"
)
IMAGE_FAILED = (
    "<context>Image generation was attempted but failed because of an error. The system is currently unable to "
    "generate the image. Tell the user that the following error occurred: {error}</context>"
)
"""What OpenWebUI's own image step tells the model (0.12.4, `chat_image_generation_handler`)."""

_MARKDOWN_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FILE_PATH = re.compile(r"^/api/v1/files/([A-Za-z0-9_-]+)/content(?:/[^?#]*)?$")
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+);base64,([A-Za-z0-9+/=\s]+)$")


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file an answer produced: an OpenWebUI file id, or the bytes of a `data:` URL."""

    name: str
    file_id: str = ""
    data: bytes = b""
    content_type: str = ""


def refs_in_text(text: str, base_url: str) -> list[FileRef]:
    """The Markdown images of `text` that are OpenWebUI files (a path, or a URL on `base_url`) or `data:` URLs;
    links elsewhere are the model's to name, not the bridge's to fetch."""
    refs: list[FileRef] = []
    for alt, url in _MARKDOWN_IMAGE.findall(text):
        ref = _ref(url, alt.strip(), base_url)
        if ref is not None:
            refs.append(ref)
    return refs


def refs_in_files(items: list[Any], base_url: str) -> list[FileRef]:
    """OpenWebUI `files` items (the image step's answer, a `files` event) that name a file or carry one."""
    refs: list[FileRef] = []
    for item in items:
        if isinstance(item, dict):
            ref = _ref(str(item.get("url") or ""), str(item.get("name") or ""), base_url, str(item.get("id") or ""))
            if ref is not None:
                refs.append(ref)
    return refs


def _ref(url: str, name: str, base_url: str, file_id: str = "") -> FileRef | None:
    path = url.removeprefix(base_url.rstrip("/")) if base_url else url
    if found := _FILE_PATH.match(path):
        return FileRef(name=name, file_id=found.group(1))
    if found := _DATA_URL.match(url):
        try:
            data = base64.b64decode(found.group(2), validate=False)
        except (binascii.Error, ValueError):
            return None
        return FileRef(name=name, data=data, content_type=found.group(1))
    return FileRef(name=name, file_id=file_id) if file_id else None


def web_ui_files(refs: list[FileRef]) -> list[dict[str, Any]]:
    """The answer's `files` as OpenWebUI stores a picture its image step drew: the web UI shows them under it."""
    return [{"type": "image", "url": f"/api/v1/files/{ref.file_id}/content"} for ref in refs if ref.file_id]


def _with_context(messages: list[dict[str, Any]], context: str) -> list[dict[str, Any]]:
    """`messages` with `context` at the start of the system message (one is added when there is none)."""
    if messages and messages[0].get("role") == "system" and isinstance(messages[0].get("content"), str):
        return [{**messages[0], "content": f"{context}\n{messages[0]['content']}"}, *messages[1:]]
    return [{"role": "system", "content": context}, *messages]


class GeneratedFiles:
    """Takes the image generation step and posts what an answer produced; `max_bytes` bounds every download."""

    def __init__(self, client: OpenWebUIClient, max_bytes: int) -> None:
        self._client = client
        self._max_bytes = max_bytes

    async def draw(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[FileRef]]:
        """The image generation step, when the completion `body` asks for it (`features.image_generation`):
        the body with the model told the outcome, and the pictures made. A refusal or failure of the image
        engine is told the model, which tells the person; the turn goes on."""
        if not (body.get("features") or {}).get("image_generation"):
            return body, []
        prompt = chats.last_user_text(body.get("messages") or [])
        try:
            items = await self._client.generate_images(prompt)
        except errors.OpenWebUIError as exc:
            log.warning("image generation failed: %s", exc)
            # the model may repeat it: a fixed sentence, never the image engine's own words (URLs, keys)
            error = texts.IMAGE_GENERATION_OFF if exc.status == 403 else texts.IMAGE_GENERATION_FAILED
            return {**body, "messages": _with_context(body["messages"], IMAGE_FAILED.format(error=error))}, []
        drawn = refs_in_files(items, self._client.base_url)
        return {**body, "messages": _with_context(body["messages"], IMAGE_MADE)}, drawn

    async def deliver(self, surface: ReplySurface, refs: list[FileRef]) -> list[str]:
        """Download each file and post it under the answer; returns notes (with its link) for the files that
        could not go, for the engine to post with the turn's other notices."""
        limit = min(surface.max_upload_bytes, self._max_bytes)
        posted: list[OutgoingFile] = []
        notes: list[str] = []
        for ref in _distinct(refs)[:MAX_FILES]:
            try:
                file = await self._fetch(ref, max(limit, 0))
            except errors.OpenWebUIError as exc:
                log.warning("could not download file %s from OpenWebUI: %s", ref.file_id, exc)
                notes.append(texts.file_not_fetched(ref.name or ref.file_id))
                continue
            if limit and len(file.data) <= limit:
                posted.append(file)
            else:
                notes.append(texts.file_not_attached(file.name, file.link, limit))
        if posted:
            try:
                await surface.post_files(posted)
            except Exception as exc:  # the answer is shown and stored: a refused upload only costs the files
                log.warning("could not post an answer's files: %s", exc)
                notes += [texts.file_not_attached(f.name, f.link, 0) for f in posted]
        return notes

    async def _fetch(self, ref: FileRef, limit: int) -> OutgoingFile:
        """The file's bytes (at most `limit` + 1: one byte more says it is larger) and its OpenWebUI link."""
        if not ref.file_id:
            name = ref.name or "image"
            return OutgoingFile(_named(name, ref.content_type), ref.data[: limit + 1], ref.content_type)
        link = f"{self._client.base_url}/api/v1/files/{ref.file_id}/content"
        content = await self._client.file_content(ref.file_id, limit)
        name = _named(content.name if content.name != ref.file_id else ref.name or ref.file_id, content.content_type)
        return OutgoingFile(name, content.data, content.content_type, link)


def _named(name: str, content_type: str) -> str:
    """A file name with an extension platforms recognise (a picture shows inline on Discord only then)."""
    name = " ".join(name.split()) or "file"
    if "." not in name.rsplit("/", 1)[-1]:
        name += mimetypes.guess_extension(content_type) or ""
    return name


def _distinct(refs: list[FileRef]) -> list[FileRef]:
    """Each file once: a picture both drawn and linked in the answer is posted once."""
    seen: set[str | bytes] = set()
    out = []
    for ref in refs:
        key = ref.file_id or ref.data
        if key not in seen:
            seen.add(key)
            out.append(ref)
    return out
