"""Surrogate repair: pairs a stream split are joined, lone halves become U+FFFD, valid text is untouched."""

from __future__ import annotations

import json

from bridge.openwebui.surrogates import PairJoiner, json_body, parsed, valid_json, valid_text


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


def test_a_request_body_is_encoded_valid_and_as_httpx_would_when_nothing_needs_it() -> None:
    assert json_body({"t": "é 😀", "n": [1, None]}) == '{"t":"é 😀","n":[1,null]}'.encode()
    assert json.loads(json_body({"t": "a \ud83d b \ud83d\ude00"})) == {"t": "a \ufffd b 😀"}


def test_an_answer_is_parsed_valid() -> None:
    assert parsed(b'{"t": "\\ud83d\\ude00 \\ud83d", "k\\udc00": 1}') == {"t": "😀 \ufffd", "k\ufffd": 1}
    assert parsed('{"t": "한국어 é"}'.encode()) == {"t": "한국어 é"}  # bytes like a surrogate's, valid text


def test_a_pair_split_between_pieces_is_joined_and_a_half_left_at_the_end_is_replaced() -> None:
    joiner = PairJoiner()
    pieces = [joiner.feed(p) for p in ("one \ud83d", "\ude00 two \ud83d", "three", "\ud83d")]
    assert pieces == ["one ", "😀 two ", "\ufffdthree", ""]
    assert joiner.flush() == "\ufffd" and joiner.flush() == ""
