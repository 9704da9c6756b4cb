"""Logging: one line per event, optionally JSON, with every configured secret masked.

The mask is applied to the final formatted line, so a token can not leak through a library's log
message, an exception's text or a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable

KEY_SHAPES = re.compile(r"\bsk-[A-Za-z0-9]{20,}|\beyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}")
"""What an OpenWebUI API key (`sk-` and 32 hex digits) or a JWT session token looks like. People paste
their own keys into the link forms; a platform library logging the form's payload at DEBUG (slack_bolt
does) writes the key before the bridge has even seen it, so keys are masked by their shape too."""


class RedactingFormatter(logging.Formatter):
    """Formats a record, then replaces every secret with `***`."""

    def __init__(self, secrets: Iterable[str], as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        self._json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if self._json:
            payload = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
            for key in ("conversation", "chat_id", "platform"):
                if hasattr(record, key):
                    payload[key] = getattr(record, key)
            if record.exc_info:
                payload["exception"] = self.formatException(record.exc_info)
            line = json.dumps(payload, ensure_ascii=False)
        else:
            line = super().format(record)
        return self.redact(line)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return KEY_SHAPES.sub("***", text)


def setup_logging(level: str, as_json: bool, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets, as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "discord.gateway", "websockets", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
