"""LiveReply: coalesced edits, first text at once, exact final text, splitting and roll-over.

Each test runs on virtual time (`in_virtual_time`, the reply's clock is the loop's): the edit interval,
the platform's waits and the model's pace are exact, so the tests state which call carries which text.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bridge.live_reply import EMPTY_ANSWER, LONGEST_WORD, LiveReply, whole_words
from bridge.splitting import reassemble
from bridge.surface import SurfaceLimits
from tests.clock import in_virtual_time, loop_clock
from tests.surfaces import RecordingSurface


def live(surface: RecordingSurface) -> LiveReply:
    """A started reply on the loop's clock."""
    reply = LiveReply(surface, clock=loop_clock())
    reply.start()
    return reply


async def stream(reply: LiveReply, pieces: list[str], gap: float) -> str:
    text = ""
    for piece in pieces:
        text += piece
        reply.update(text)
        await asyncio.sleep(gap)
    return text


@in_virtual_time
async def test_edits_are_coalesced_and_carry_the_newest_text() -> None:
    surface = RecordingSurface(limits=SurfaceLimits(max_chars=2000, min_edit_interval=0.1))
    reply = live(surface)
    clock = loop_clock()
    start = clock()
    pieces = [f"w{i} " for i in range(200)]
    sent_at: list[tuple[float, str]] = []
    text = ""
    for piece in pieces:
        text += piece
        reply.update(text)
        sent_at.append((clock(), text))
        await asyncio.sleep(0.004)
    ids = await reply.finish(text)
    assert surface.visible(ids) == text
    # 200 deltas in 0.8 s at one update per 0.1 s: the first post at once, then an edit every 0.1 s, the last
    # one with the final text
    assert [op.kind for op in surface.ops] == ["post"] + ["edit"] * 8
    assert [op.at - start for op in surface.ops] == pytest.approx([i / 10 for i in range(9)], abs=1e-6)
    for op in surface.ops:
        # every update shows the newest whole words that existed when it was sent (never a stale queued one)
        newest = [t for at, t in sent_at if at <= op.at][-1]
        assert op.text == newest


@in_virtual_time
async def test_first_text_is_posted_at_once_and_progress_stops() -> None:
    surface = RecordingSurface(limits=SurfaceLimits(max_chars=2000, min_edit_interval=5.0))
    reply = live(surface)
    clock = loop_clock()
    await asyncio.sleep(0.01)
    assert surface.progress_shown == 1 and not surface.ops
    began = clock()
    reply.update("Hello")
    for _ in range(10):  # the sender's few steps, without the clock moving
        await asyncio.sleep(0)
    assert surface.ops[0].kind == "post" and surface.ops[0].at == began, "posted at once, no interval first"
    # the final text does not wait for the 5 s edit interval
    began = clock()
    await reply.finish("Hello, world")
    assert clock() == began
    assert surface.texts == ["Hello, world"]
    assert surface.paced[-1] == ("edit", True)


@in_virtual_time
async def test_long_reply_splits_into_messages_within_the_limit() -> None:
    surface = RecordingSurface(limits=SurfaceLimits(max_chars=200, min_edit_interval=0.01))
    reply = live(surface)
    code = "```python\n" + "".join(f"print({i})  # line {i}\n" for i in range(40)) + "```\n"
    final = "Intro paragraph with words.\n\n" + code + "\nOutro " + "word " * 60
    await stream(reply, [final[i : i + 7] for i in range(0, len(final), 7)], 0.0005)
    ids = await reply.finish(final)
    assert len(ids) > 3
    parts = [surface.messages[i] for i in ids]
    assert all(len(p) <= 200 for p in parts)
    assert reassemble(parts) == final
    for part in parts:
        assert part.count("```") % 2 == 0, part


def mark_ats(text: str) -> str:
    """A rendering that adds characters, as Slack's mention escapes do: idempotent and prefix-keeping."""
    return re.sub("@(?!\u200b)", "@\u200b", text)


@pytest.mark.parametrize("deferred", [False, True], ids=["edited", "deferred"])
async def test_the_limit_holds_for_the_rendered_text(deferred: bool) -> None:
    """Parts are cut from the rendered text, also after a message was left (`deferred`: the rest of the
    text goes on from the end of what the message showed, in rendered characters)."""
    surface = RecordingSurface(
        limits=SurfaceLimits(max_chars=200, min_edit_interval=0.01, render=mark_ats), defer_final_edits=deferred
    )
    reply = LiveReply(surface)
    reply.start()
    # (a message left inside a code block gets no fence closing, so `reassemble` could not undo the reopening)
    code = "" if deferred else "```\n" + "".join(f"@user{i} @team\n" for i in range(30)) + "```\n"
    final = "@here " * 30 + "\n\n" + code + "\nand @all " * 20
    await stream(reply, [final[i : i + 9] for i in range(0, len(final), 9)], 0.0005)
    ids = await reply.finish(final)
    parts = [surface.messages[i] for i in ids]
    assert len(parts) >= 3 and all(len(p) <= 200 for p in parts)  # RecordingSurface refuses longer ones
    assert reassemble(parts) == mark_ats(final)


@in_virtual_time
async def test_a_refused_edit_continues_in_a_new_message() -> None:
    surface = RecordingSurface(limits=SurfaceLimits(max_chars=2000, min_edit_interval=0.01), fail_edits_of={"m1"})
    reply = live(surface)
    reply.update("first words")
    await asyncio.sleep(0.05)
    ids = await reply.finish("first words and the rest")
    assert ids == ["m1", "m2"]
    assert surface.messages["m2"] == "first words and the rest"
    assert reply.stats.failed_edits == 1


@pytest.mark.parametrize("refused_before_finish", [True, False])
@in_virtual_time
async def test_a_refused_post_is_raised_by_finish_once(refused_before_finish: bool) -> None:
    """The sender dies of the refusal (while the model still writes, or while `finish` waits for it);
    `finish` reports it (the engine then ends the turn with a note), and the next `finish` shows that text
    in one message."""
    surface = RecordingSurface(fail_posts=1, pace_delay=0.0 if refused_before_finish else 0.05)
    reply = live(surface)
    reply.update("first words ")
    if refused_before_finish:
        await asyncio.sleep(0.05)
    with pytest.raises(RuntimeError, match="post refused"):
        await reply.finish("first words and the rest")
    ids = await reply.finish("first words and the rest\n\n⚠️ note")
    assert [surface.messages[i] for i in ids] == ["first words and the rest\n\n⚠️ note"]


@in_virtual_time
async def test_a_deferred_edit_keeps_the_message_and_continues_between_words() -> None:
    surface = RecordingSurface(limits=SurfaceLimits(max_chars=2000, min_edit_interval=0.01), defer_final_edits=True)
    reply = live(surface)
    reply.update("The quick bro")
    await asyncio.sleep(0.05)
    reply.update("The quick brown fo")
    await asyncio.sleep(0.05)
    final = "The quick brown fox jumps."
    ids = await reply.finish(final)
    assert ids == ["m1", "m2"]
    # the first message keeps the whole words it showed; nothing is shown twice and nothing is lost
    assert [op.text for op in surface.ops] == ["The quick ", "The quick brown ", "fox jumps."]
    assert surface.messages == {"m1": "The quick brown ", "m2": "fox jumps."}
    assert surface.visible(ids) == final
    assert reply.stats.failed_edits == 0


@in_virtual_time
async def test_a_routine_edit_moved_to_a_new_message_posts_the_rest_on_the_grant_it_carries() -> None:
    """The platform may show a routine update as a new message (Slack: a start grant freed up, the rest
    streams); the post goes out on the grant the deferred edit carries, not after a second wait."""
    surface = RecordingSurface(
        limits=SurfaceLimits(max_chars=2000, min_edit_interval=0.01), move_routine_edits_of={"m1"}
    )
    reply = live(surface)
    reply.update("The quick ")
    await asyncio.sleep(0.05)
    reply.update("The quick brown fox ")
    await asyncio.sleep(0.05)
    ids = await reply.finish("The quick brown fox jumps.")
    assert ids == ["m1", "m2"]
    assert surface.messages == {"m1": "The quick ", "m2": "brown fox jumps."}
    assert surface.paced == [("post", False), ("edit", False), ("edit", True)]
    assert surface.unspent == []


def test_updates_hold_back_only_an_unfinished_word() -> None:
    assert whole_words("Hello wor") == "Hello "
    assert whole_words("Hello world\n") == "Hello world\n"
    assert whole_words("Hel") == "Hel"  # the first word alone is shown as it comes
    assert whole_words("ab " + "x" * LONGEST_WORD) == "ab "
    assert whole_words("ab " + "x" * (LONGEST_WORD + 1)) == "ab " + "x" * (LONGEST_WORD + 1)
    url = "see https://example.com/" + "x" * LONGEST_WORD
    assert whole_words(url) == url  # a run longer than a word is not held back
    assert whole_words("速い茶色の狐が怠け者の犬を飛び越える" * 3) == "速い茶色の狐が怠け者の犬を飛び越える" * 3


@in_virtual_time
async def test_a_message_about_to_get_too_old_is_left_and_the_reply_moves_on() -> None:
    limits = SurfaceLimits(max_chars=2000, min_edit_interval=0.01, max_message_age=0.15)
    surface = RecordingSurface(limits=limits)
    reply = live(surface)
    text = await stream(reply, [f"part{i} " for i in range(30)], 0.01)
    ids = await reply.finish(text)
    assert len(ids) >= 2
    assert "".join(surface.messages[i] for i in ids) == text


@in_virtual_time
async def test_empty_answer_says_so() -> None:
    surface = RecordingSurface()
    reply = LiveReply(surface, clock=loop_clock())
    ids = await reply.finish("   ")
    assert [surface.messages[i] for i in ids] == [EMPTY_ANSWER]


@in_virtual_time
async def test_a_call_carries_the_text_that_exists_once_the_budget_allows_it() -> None:
    surface = RecordingSurface(pace_delay=0.2)
    reply = live(surface)
    reply.update("one")
    await asyncio.sleep(0.05)  # the first post is waiting for the platform's budget
    reply.update("one two ")
    await asyncio.sleep(0.3)
    assert [op.text for op in surface.ops] == ["one two "]
    await reply.finish("one two three")
    assert [op.text for op in surface.ops] == ["one two ", "one two three"]


@in_virtual_time
async def test_finish_again_after_a_cancelled_finish_shows_the_new_text() -> None:
    surface = RecordingSurface(pace_delay=0.2)
    reply = LiveReply(surface, clock=loop_clock())
    finishing = asyncio.create_task(reply.finish("the answer"))
    await asyncio.sleep(0.05)  # waiting for the platform's budget when the turn is cancelled
    finishing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finishing
    ids = await reply.finish("the answer\n\n⚠️ interrupted")
    assert [surface.messages[i] for i in ids] == ["the answer\n\n⚠️ interrupted"]


@in_virtual_time
async def test_the_final_text_does_not_wait_behind_a_routine_update_still_queued() -> None:
    class Busy(RecordingSurface):
        async def pace(self, op, final):  # type: ignore[no-untyped-def]
            if not final and self.ops:
                await asyncio.sleep(5)  # routine updates queue behind other replies for a long time
            return await super().pace(op, final)

    surface = Busy(limits=SurfaceLimits(max_chars=2000, min_edit_interval=0.01))
    reply = live(surface)
    reply.update("first")
    await asyncio.sleep(0.05)
    reply.update("first words")  # this update now waits for the budget
    await asyncio.sleep(0.05)
    clock = loop_clock()
    began = clock()
    await reply.finish("first words, all of them")
    assert clock() == began, "the final text went out at once"
    assert [op.text for op in surface.ops] == ["first", "first words, all of them"]
