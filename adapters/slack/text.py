"""How a reply's text is written for Slack: the Markdown block it is shown in, the short plain fallback
for notifications, and the escapes that keep a model's text from notifying or linking anyone."""

from __future__ import annotations

import re

from bridge import texts
from bridge.links import safe_url
from bridge.surface import Source

FALLBACK_CHARS = 300
CONTEXT_CHARS = 3000  # a text element of a context block, like every Block Kit text object
SOURCE_NAME_CHARS = 200

_MENTION = re.compile(r"<(?=[!@])")
"""Where Slack's special markup starts: `<@U…>` (a user), `<!here>`, `<!channel>`, `<!everyone>`,
`<!subteam^S…>` (a user group) notify people; `<!date^…>` only formats. A channel link (`<#C…>`) and a
web link notify nobody and stay."""


def defuse(text: str) -> str:
    """Markdown for a reply: nobody is pinged by what a model writes. A zero-width space after the `<` of
    every mention keeps it readable and makes it plain text. It adds characters, so limits are measured
    after it (`SurfaceLimits.render`); it is idempotent, and a growing text's rendering only grows."""
    return _MENTION.sub("<\u200b", text)


def defuse_mrkdwn(text: str, *, asker: str = "") -> str:
    """mrkdwn for a `text` field (ephemeral notes, slash command answers): every mention's `<` escaped,
    except a mention of `asker`, the person the bridge answers, whom it may name (see README, Security)."""
    if not asker:
        return _MENTION.sub("&lt;", text)
    return re.sub(rf"<(?=[!@])(?!@{re.escape(asker)}[|>])", "&lt;", text)


def markdown_blocks(text: str) -> list[dict[str, str]]:
    """Slack renders standard Markdown in a `markdown` block (up to 12,000 characters): no mrkdwn
    conversion needed."""
    return [{"type": "markdown", "text": text}]


def escape(text: str) -> str:
    """Slack's mrkdwn escapes: a name with `<`, `>` or `&` must not turn into markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(text: str) -> str:
    """The plain `text` shown in notifications: the start of the reply, escaped so that nothing in it
    becomes a mention or a link, then cut at a word. Short, because `chat.update` refuses a `text` near
    4,000 characters even beside a block; measured after the escapes, which make one character up to five."""
    flat = escape(" ".join(text.split()))
    if len(flat) > FALLBACK_CHARS:
        cut = flat.rfind(" ", 0, FALLBACK_CHARS)
        if cut <= 0:
            cut = FALLBACK_CHARS
            entity = flat.rfind("&", cut - len("&amp;") + 1, cut)
            if entity != -1:
                cut = entity  # never half an escape
        flat = flat[:cut] + "…"
    return flat or "…"


def sources_line(sources: list[Source]) -> str:
    """The line "Sources: a, b, …" for a context block: names escaped, each linked only to an http(s) URL
    that cannot close Slack's `<url|name>` early (`bridge.links`), fitted to the block's 3,000 characters."""
    prefix = "Sources: "
    names = [_source_link(source) for source in sources]
    return prefix + texts.listing(names, CONTEXT_CHARS - len(prefix), separator=", ")


def _source_link(source: Source) -> str:
    name = escape(texts.clipped(" ".join(source.name.split()), SOURCE_NAME_CHARS)) or "source"
    url = safe_url(source.url)
    return f"<{escape(url)}|{name}>" if url else name
