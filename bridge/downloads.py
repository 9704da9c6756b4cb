"""Downloads of a platform's files from that platform's own file hosts, and from nowhere else.

A file's URL comes with the event. Fetched blindly, a URL pointing at an internal address had the bot
token sent there and its answer uploaded to OpenWebUI as the file. So a download goes only to the hosts
`FileHosts` allows, each redirect is checked the same way before it is followed, and a refused URL is a
`UserFacingError` (a note next to the file's name) before any request is made.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager

import aiohttp
from yarl import URL

from bridge.errors import UserFacingError

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}


class FileHosts:
    """Where a platform's files may be fetched: its file hosts over https, and the origin (scheme, host and
    port, exactly) of the API URL it is configured with, which already gets its token: a proxy, or the
    tests' simulator."""

    def __init__(self, platform: str, https_hosts: Iterable[str], api_url: str) -> None:
        self.platform = platform
        self.https_hosts = frozenset(host.lower() for host in https_hosts)
        self.api_origin = URL(api_url).origin()

    def allows(self, url: URL) -> bool:
        if not url.absolute or url.user is not None or url.password is not None:
            return False
        if url.origin() == self.api_origin:
            return True
        return url.scheme == "https" and url.port == 443 and (url.host or "").lower() in self.https_hosts

    def refusal(self, url: URL | str) -> UserFacingError:
        where = url.host if isinstance(url, URL) else "an unreadable URL"
        log.warning("%s file not fetched: %s is not one of its file hosts", self.platform, where)
        return UserFacingError(f"is not on {self.platform}'s file servers, so it was not downloaded.")


@asynccontextmanager
async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    hosts: FileHosts,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET `url` (with `headers`, e.g. the token) when `hosts` allows it; redirects are followed by hand, each
    only if `hosts` allows its target, so neither the request nor the headers ever leave those hosts."""
    try:
        target = URL(url)
    except ValueError:
        raise hosts.refusal(url) from None
    for _ in range(MAX_REDIRECTS + 1):
        if not hosts.allows(target):
            raise hosts.refusal(target)
        async with session.get(target, headers=headers, timeout=timeout, allow_redirects=False) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                target = response.url.join(URL(location))
                continue
            yield response
            return
    raise UserFacingError(f"was redirected more than {MAX_REDIRECTS} times by {hosts.platform}; try sending it again.")
