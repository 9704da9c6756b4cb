"""Log lines: plain or JSON, with the conversation's ids, and never a secret."""

from __future__ import annotations

import json
import logging
import sys

from bridge.logs import RedactingFormatter

SECRET = "xoxb-1234567890-secret"


def record(message: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("bridge.engine", logging.INFO, __file__, 1, message, (), None)
    rec.__dict__.update(extra)
    return rec


def test_json_lines_carry_the_conversation_and_mask_secrets() -> None:
    formatter = RedactingFormatter([SECRET, "short"], as_json=True)
    line = formatter.format(
        record(f"turn answered with token {SECRET}", platform="slack", conversation="slack:T1:C1:123.4", chat_id="abc")
    )
    payload = json.loads(line)
    assert payload["conversation"] == "slack:T1:C1:123.4" and payload["chat_id"] == "abc"
    assert payload["platform"] == "slack" and payload["level"] == "INFO"
    assert SECRET not in line and "***" in payload["message"]


def test_plain_lines_mask_secrets_in_tracebacks_too() -> None:
    formatter = RedactingFormatter([SECRET], as_json=False)
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(rec)
    assert "RuntimeError" in line and SECRET not in line


def test_keys_people_paste_are_masked_by_their_shape() -> None:
    """A linked key is no configured secret, and slack_bolt logs a modal's payload (with the key typed into
    it) at DEBUG before the bridge sees it: OpenWebUI keys and JWTs are masked by what they look like."""
    key = "sk-4a756506b8b04f9aa00f2616f167fa43"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjdhNjdiN2EzIn0.Zp_fblHWOSHwUeHeYngVu7Nngyx67jIQ"
    line = RedactingFormatter([], as_json=False).format(record(f'{{"value": "{key}"}} and Bearer {jwt}'))
    assert key not in line and jwt not in line and line.count("***") == 2
    assert "sk-fake" in RedactingFormatter([], as_json=False).format(record("upstream key sk-fake")), "short: not a key"
