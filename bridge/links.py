"""URLs from outside (OpenWebUI's sources: a document's or a web page's address) made safe to put inside a
platform's link markup.

A source URL is written into markup the bridge builds (Slack's `<url|name>`, Discord's `[name](url)`), so
a character of the URL that the markup gives a meaning to would end the link early and let the rest of
the URL write markup of its own: a mention, or a link whose text lies about where it goes. Only web
addresses are linked at all (a `javascript:` or `file:` URL has no business in a chat), and every
character that is not plainly part of a URL is percent-encoded, which browsers undo, so the link still
leads where the URL said.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

LINKABLE_SCHEMES = ("http", "https")
MAX_URL_CHARS = 2000
_SAFE = "/:@!$&'*+,;=-._~%?#"
"""Characters a URL may keep: RFC 3986's unreserved and reserved ones, without those that close or split
a platform's link markup (`<`, `>`, `|`, `(`, `)`, `[`, `]`) and without quotes, spaces and backslashes.
`%` stays, so an address already encoded is not encoded twice."""
_HOST = re.compile(r"[a-z0-9._-]+|\[[0-9a-f:.]+\]")


def safe_url(url: str) -> str | None:
    """`url` as a link target that cannot end the markup around it, or None when it should not be linked
    (not http(s), no host, unreadable, or longer than any real address)."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
        if parts.scheme.lower() not in LINKABLE_SCHEMES or not host or len(url) > MAX_URL_CHARS:
            return None
        netloc = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    if not _HOST.fullmatch(netloc):
        return None
    if port is not None:
        netloc += f":{port}"
    encoded = [quote(part, safe=_SAFE) for part in (parts.path, parts.query, parts.fragment)]
    return urlunsplit((parts.scheme.lower(), netloc, *encoded))
