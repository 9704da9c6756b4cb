"""Transcripts for questions: the newest messages kept within the bound, and the question saying what was cut."""

from __future__ import annotations

from bridge import transcripts
from bridge.transcripts import Line


def test_the_oldest_are_left_out_first_and_the_question_says_so() -> None:
    lines = [Line("ann", f"message {i:02d} " + "x" * 40) for i in range(10)]
    question = transcripts.with_messages("Sum up.", "The thread", lines, limit=200)
    kept = [i for i in range(10) if f"message {i:02d}" in question]
    assert kept == [7, 8, 9]
    assert "(the 7 oldest left out: at most 200 characters are sent):" in question
    assert len(question.split(":\n\n", 1)[1]) <= 200


def test_one_message_longer_than_the_bound_is_cut_at_its_end() -> None:
    text, left_out = transcripts.transcript([Line("ann", "y" * 500)], limit=100)
    assert len(text) == 100 and text.endswith("…") and left_out == 0


def test_no_messages_is_said() -> None:
    assert "there are no messages I could read" in transcripts.with_messages("Sum up.", "The thread", [])
