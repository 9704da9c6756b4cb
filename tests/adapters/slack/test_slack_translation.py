"""The adapter's pure translations: Slack markup, message links, command arguments, conversation keys."""

from __future__ import annotations

from adapters.slack.commands import parse_link, split_name
from adapters.slack.events import is_new_user_text, plain_text, turn_for
from adapters.slack.text import FALLBACK_CHARS, fallback_text

BOT = "U0BOT"


def test_plain_text_removes_the_app_mention_and_keeps_the_rest_readable() -> None:
    text = "<@U0BOT> ask <@U0BOB|bob> about <#C0GENERAL|general>, <!here> &amp; <https://x.org/a?b=1|the doc> &lt;3"
    assert plain_text(text, BOT) == "ask @bob about #general, @here & the doc (https://x.org/a?b=1) <3"
    assert plain_text("<@U0BOT>", BOT) == ""
    assert plain_text("see <https://example.com>", BOT) == "see https://example.com"


def test_only_new_human_messages_count() -> None:
    human = {"type": "message", "user": "U0ALICE", "text": "hi"}
    assert is_new_user_text(human, BOT)
    assert is_new_user_text({**human, "subtype": "file_share"}, BOT)
    assert is_new_user_text({**human, "subtype": "thread_broadcast"}, BOT)
    for other in ("message_changed", "message_deleted", "channel_join", "bot_message"):
        assert not is_new_user_text({**human, "subtype": other}, BOT)
    assert not is_new_user_text({**human, "bot_id": "B0OTHER"}, BOT)
    assert not is_new_user_text({**human, "user": BOT}, BOT)


def test_conversation_keys_and_reply_places() -> None:
    top = turn_for({"channel": "C1", "ts": "1.1", "user": "U1", "text": "q"}, "T1", BOT, ())
    assert (top.message.key.thread, top.place.thread_ts, top.dm) == ("1.1", "1.1", False)
    assert top.message.event_id == "T1:C1:1.1"
    threaded = turn_for({"channel": "C1", "ts": "2.2", "thread_ts": "1.1", "user": "U1"}, "T1", BOT, ())
    assert (threaded.message.key.thread, threaded.place.thread_ts) == ("1.1", "1.1")
    dm = turn_for({"channel": "D1", "channel_type": "im", "ts": "3.3", "user": "U1"}, "T1", BOT, ())
    assert (dm.message.key.thread, dm.place.thread_ts, dm.dm) == ("", None, True)
    dm_event = {"channel": "D1", "channel_type": "im", "ts": "4.4", "thread_ts": "3.3", "user": "U1"}
    dm_thread = turn_for(dm_event, "T1", BOT, ())
    assert (dm_thread.message.key.thread, dm_thread.place.thread_ts) == ("3.3", "3.3")


def test_message_links_and_names() -> None:
    assert parse_link("https://t.slack.com/archives/C0GENERAL/p1700000000123456") == (
        "C0GENERAL",
        "1700000000.123456",
        None,
    )
    assert parse_link("<https://t.slack.com/archives/C1/p1700000001000001?thread_ts=1700000000.123456&cid=C1>") == (
        "C1",
        "1700000001.000001",
        "1700000000.123456",
    )
    assert parse_link("no link here") is None
    assert split_name('"Team Docs" what is new?') == ("Team Docs", "what is new?")
    assert split_name("“Team Docs” what?") == ("Team Docs", "what?")
    assert split_name("handbook what is new?") == ("handbook", "what is new?")
    assert split_name("") == ("", "")


def test_fallback_text_is_short_and_never_empty() -> None:
    assert fallback_text("") == "…"
    assert fallback_text("a\n\nb") == "a b"
    long = fallback_text("word " * 500)
    assert len(long) <= 301 and long.endswith("word…")


def test_fallback_text_is_short_as_sent() -> None:
    """Slack's escapes make one character five (`&amp;`): the length is measured after them, and a cut never
    leaves half an escape."""
    for text in ["<" * 1000, "a&b " * 400, "&" * 299 + "<" * 10, "x" * 298 + "&&&&"]:
        shown = fallback_text(text)
        assert len(shown) <= FALLBACK_CHARS + 1, len(shown)
        assert "<" not in shown and ">" not in shown
        assert not any(shown[:-1].endswith(piece) for piece in ("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
