"""File hosting: `url_private_download` downloads and the upload URLs of files.getUploadURLExternal.

The detail that matters for a bridge: a download without a bot token holding `files:read` is *not* an
error status — Slack answers 200 with its HTML sign-in page, so only the content type tells the difference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from .state import Workspace

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Slack</title></head>
<body><h1>Sign in to Sim Team</h1><form action="/signin" method="post">
<input type="email" name="email"><input type="password" name="password">
<button type="submit">Sign In</button></form></body></html>
"""


@dataclass(slots=True)
class Download:
    """One download request: which file, when (time.monotonic()), and whether it got the bytes."""

    at: float
    file_id: str
    authorized: bool


class FileHost:
    """Serves hosted files to authorized tokens and accepts upload bodies."""

    def __init__(self, ws: Workspace, pending_uploads: dict) -> None:
        self.ws = ws
        self.pending_uploads = pending_uploads
        self.downloads: list[Download] = []
        self.redirects: list[str] = []

    async def download(self, request: web.Request) -> web.Response:
        """GET /files-pri/{team}-{file}/download/{name} (and the url_private form without /download)."""
        file_id = request.match_info["team_file"].rsplit("-", 1)[-1]
        header = request.headers.get("Authorization", "")
        token = self.ws.tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        authorized = token is not None and "files:read" in token.scopes
        self.downloads.append(Download(at=time.monotonic(), file_id=file_id, authorized=authorized))
        if not authorized:
            return web.Response(text=LOGIN_PAGE, content_type="text/html")
        hosted = self.ws.files.get(file_id)
        if hosted is None or hosted.content is None:
            return web.Response(status=404, text="<html><body>File not found</body></html>", content_type="text/html")
        return web.Response(
            body=hosted.content,
            content_type=hosted.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{hosted.name}"'},
        )

    async def redirect(self, request: web.Request) -> web.Response:
        """GET /redirect?to=URL: 302 to URL, whoever asks (a test tool: an open redirect on Slack's host)."""
        self.redirects.append(request.query["to"])
        raise web.HTTPFound(request.query["to"])

    async def upload(self, request: web.Request) -> web.Response:
        """POST /upload/v1/{file_id}: the raw bytes (slack_sdk) or a multipart `file` field (other clients)."""
        hosted = self.pending_uploads.get(request.match_info["file_id"])
        if hosted is None:
            return web.Response(status=404, text="upload_url not found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            field = form.get("file") or form.get("filename")
            content = field.file.read() if hasattr(field, "file") else str(field or "").encode()
        else:
            content = await request.read()
        hosted.content = content
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")
