"""Source URLs made safe for link markup: only web addresses, nothing that can end `<url|name>` or
`[name](url)` early, and the address still leads where it said."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from bridge.links import safe_url
from bridge.texts import listing

MARKUP = set('<>|()[] "\\`\n')


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.test/a><!channel> <https://evil.test|Click me",
        "https://docs.test/a) [Click me](https://evil.test",
        "https://docs.test/b?x=(1)&y=[2]#part|x",
        'http://docs.test/path with spaces/"quoted"\\`tick`\nnext',
        "HTTPS://Docs.Test:8443/%3Calready%3E",
    ],
)
def test_web_addresses_keep_their_target_and_lose_their_markup(url: str) -> None:
    safe = safe_url(url)
    assert safe is not None and not MARKUP & set(safe)
    assert unquote(safe).lower() == unquote(url).replace("\n", "").lower()  # browsers drop newlines too


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "https:///no-host", "https://a<b>c/", "", "x"],
)
def test_other_addresses_are_not_linked(url: str) -> None:
    assert safe_url(url) is None


def test_credentials_and_international_hosts() -> None:
    assert safe_url("https://user:secret@host.test/p") == "https://host.test/p"
    assert safe_url("https://münchen.test/ä") == "https://xn--mnchen-3ya.test/%C3%A4"


def test_a_listing_fits_its_limit_and_says_how_many_more() -> None:
    assert listing(["a", "b"], 3) == "a\nb"
    cut = listing(["entry"] * 10, 40)
    assert cut == "entry\nentry\nentry\nentry\n… and 6 more"  # a fifth entry would make it 42
    assert listing(["a"], 50, total=3) == "a\n… and 2 more"
    assert listing(["x" * 100], 20) == "… and 1 more"
