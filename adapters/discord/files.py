"""Discord attachments as the core's `Attachment`: metadata now, bytes only when the engine accepts the file.

Discord serves attachments by plain GET from its CDN, and only from there are they fetched (an attachment
URL pointing anywhere else gets a note, not a request). The size Discord declares is checked by the engine
before any download; the download itself stops at the same limit, so a file that is larger than declared
still cannot fill memory.
"""

from __future__ import annotations

import functools
import mimetypes

import aiohttp
import discord

from bridge.downloads import FileHosts, fetch
from bridge.errors import UserFacingError
from bridge.messages import Attachment

CHUNK = 64 * 1024
DISCORD_FILE_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")


class AttachmentFetcher:
    """Downloads attachments over one HTTP session; `close()` it at shutdown."""

    def __init__(self, max_bytes: int, api_url: str, *, timeout: float = 120.0) -> None:
        """`api_url` is DISCORD_API_URL: its origin may serve files too (a proxy, or the tests' simulator)."""
        self.max_bytes = max_bytes
        self.hosts = FileHosts("Discord", DISCORD_FILE_HOSTS, api_url)
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    def attachment(self, item: discord.Attachment) -> Attachment:
        """The core's view of one Discord attachment; nothing is downloaded yet."""
        content_type = item.content_type or mimetypes.guess_type(item.filename)[0] or "application/octet-stream"
        return Attachment(item.filename, content_type, item.size, functools.partial(self.download, item.url))

    async def download(self, url: str) -> bytes:
        """The bytes at `url` (on Discord's file hosts only), refusing more than `max_bytes`."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with fetch(self._session, url, self.hosts) as response:
            if response.status != 200:
                raise UserFacingError(f"could not be downloaded from Discord (HTTP {response.status}); send it again.")
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > self.max_bytes:
                    raise UserFacingError(f"is larger than the limit of {self.max_bytes // (1024 * 1024)} MB.")
            return bytes(data)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
