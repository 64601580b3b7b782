"""HTML bodies are sanitised before anything stores or shows them, and read as text."""

from __future__ import annotations

import pytest

from policydesk.mail.html import MAX_HTML_TAGS, html_to_text, is_too_complex, sanitise_html


@pytest.mark.parametrize(
    ("html", "safe"),
    [
        ("<p>Hi <b>there</b></p>", "<p>Hi <b>there</b></p>"),
        ("<p onclick='x()'>Hi</p><script>alert(1)</script>", "<p>Hi</p>"),
        ("<html><head><title>T</title><style>p{}</style></head><body>B</body></html>", "B"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        (
            '<a href="https://shop.example/">x</a>',
            '<a href="https://shop.example/" rel="noopener noreferrer">x</a>',
        ),
        ('<img src="cid:logo@shop.example">', '<img src="cid:logo@shop.example">'),
        ('<img src="data:image/png;base64,AAAA">', "<img>"),
        ("<iframe src='https://evil.example'></iframe><form><input></form>", ""),
        ("<svg><script>alert(1)</script></svg>", ""),
    ],
)
def test_html_is_sanitised_to_an_allow_list_of_harmless_markup(html: str, safe: str) -> None:
    assert sanitise_html(html) == safe


def test_html_is_read_as_text_with_its_blocks_and_entities() -> None:
    text = html_to_text("<h1>Order</h1><p>5 &lt; 6 &amp; more<br>next</p><ul><li>a</li></ul>")
    assert text == "Order\n\n5 < 6 & more\nnext\n\n  * a"


def test_markup_nested_past_what_lxml_reads_still_gives_its_words() -> None:
    assert html_to_text("<div>" * 400 + "deep words") == "deep words"


def test_markup_with_too_many_tags_is_shown_as_escaped_text_instead_of_sanitised() -> None:
    html = "<i>" * (MAX_HTML_TAGS + 1) + "<script>x</script> 1 < 2"
    assert is_too_complex(html)
    assert sanitise_html(html) == "<pre>x 1 &lt; 2</pre>"
    assert not is_too_complex("<i>" * MAX_HTML_TAGS)
