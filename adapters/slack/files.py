"""Slack files as the core's `Attachment`s: downloaded lazily with the bot token, only from Slack's file hosts.

Slack does not answer a download the token may not make with an error status: it answers 200 with its
HTML sign-in page. So the content type is checked, and an HTML answer for a file that is not HTML itself
becomes the sentence an admin needs: the app lacks `files:read`. Errors are `UserFacingError`s, which the
engine shows next to the file's name.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bridge.downloads import FileHosts, fetch
from bridge.errors import UserFacingError
from bridge.messages import Attachment, AttachmentFetcher

MISSING_SCOPE = (
    "the Slack app lacks the files:read scope, so the bridge cannot download it; an admin must add "
    "files:read to the app (OAuth & Permissions) and reinstall it."
)
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=15)
_UNREACHABLE = {
    "external": "is a link to a file stored outside Slack; upload the file itself.",
    "tombstone": "was deleted.",
    "hidden_by_limit": "is hidden by the workspace's plan limits.",
}
# Where Slack serves `url_private(_download)`, and where it redirects some downloads to.
SLACK_FILE_HOSTS = ("files.slack.com", "files-origin.slack.com")


def slack_file_hosts(api_url: str) -> FileHosts:
    """Slack's file hosts, and the origin of SLACK_API_URL (a proxy, or the tests' simulator)."""
    return FileHosts("Slack", SLACK_FILE_HOSTS, api_url)


def slack_attachments(
    files: list[dict[str, Any]], session: aiohttp.ClientSession, token: str, max_bytes: int, hosts: FileHosts
) -> tuple[Attachment, ...]:
    """One `Attachment` per file of a message; files Slack will not serve fail with a sentence saying why."""
    found = []
    for file in files:
        name = str(file.get("name") or file.get("title") or file.get("id") or "file")
        content_type = str(file.get("mimetype") or "application/octet-stream")
        url = file.get("url_private_download") or file.get("url_private")
        reason = _UNREACHABLE.get(str(file.get("mode")), "" if url else "cannot be downloaded from Slack.")
        download = _refusal(reason) if reason else _downloader(str(url), content_type, session, token, max_bytes, hosts)
        found.append(Attachment(name, content_type, int(file.get("size") or 0), download))
    return tuple(found)


def _downloader(
    url: str, content_type: str, session: aiohttp.ClientSession, token: str, max_bytes: int, hosts: FileHosts
) -> AttachmentFetcher:
    async def download() -> bytes:
        headers = {"Authorization": f"Bearer {token}"}
        async with fetch(session, url, hosts, headers=headers, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status != 200:
                raise UserFacingError(f"Slack answered {response.status} to its download; try sending it again.")
            if response.content_type == "text/html" and content_type != "text/html":
                raise UserFacingError(MISSING_SCOPE)
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > max_bytes:  # the engine reports the file as too large
                    break
            return bytes(data)

    return download


def _refusal(reason: str) -> AttachmentFetcher:
    async def refuse() -> bytes:
        raise UserFacingError(reason)

    return refuse
