"""Surrogate repair: pairs a stream split are joined, lone halves become U+FFFD, valid text is untouched."""

from __future__ import annotations

from bridge.openwebui.surrogates import PairJoiner, valid_json, valid_text


def test_valid_text_joins_pairs_and_replaces_lone_halves() -> None:
    assert valid_text("a \ud83d\ude00 b") == "a 😀 b"
    assert valid_text("\ude00\ud83d x \ud83d") == "\ufffd\ufffd x \ufffd"
    plain = "nothing to do 😀"
    assert valid_text(plain) is plain


def test_valid_json_repairs_keys_and_nested_strings() -> None:
    assert valid_json({"k\ud83d": ["v\ude00", {"n": 1, "t": "\ud83d\ude00"}], "none": None}) == {
        "k\ufffd": ["v\ufffd", {"n": 1, "t": "😀"}],
        "none": None,
    }
    clean = {"a": ["b", 1]}
    assert valid_json(clean) is clean


def test_a_pair_split_between_pieces_is_joined_and_a_half_left_at_the_end_is_replaced() -> None:
    joiner = PairJoiner()
    pieces = [joiner.feed(p) for p in ("one \ud83d", "\ude00 two \ud83d", "three", "\ud83d")]
    assert pieces == ["one ", "😀 two ", "\ufffdthree", ""]
    assert joiner.flush() == "\ufffd" and joiner.flush() == ""
