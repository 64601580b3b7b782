"""HTML bodies: sanitised before anything stores or shows them, and read as plain text."""

from __future__ import annotations

import html as _html
import re
from typing import Final

import nh3
from inscriptis import get_text  # type: ignore[import-untyped]

__all__ = ["MAX_HTML_TAGS", "html_to_text", "is_too_complex", "sanitise_html"]

#: Sanitising takes time that grows with the square of the nesting depth (50,000 nested
#: ``<div>`` take ten seconds); HTML with more tags than this is shown as escaped text instead.
#: A long newsletter has a few thousand.
MAX_HTML_TAGS: Final = 10_000

_TAG_START = re.compile(r"<[A-Za-z!/?]")
_TAG = re.compile(r"<[A-Za-z!/?][^>]*>?")

#: nh3's default schemes, plus ``cid:`` so that inline images can be shown from the message's
#: own parts. ``data:`` stays out: it can carry a script in some browsers.
_URL_SCHEMES: Final = frozenset(nh3.ALLOWED_URL_SCHEMES | {"cid"})


#: Elements removed with everything inside them (nh3 keeps the text of other removed tags).
_DROPPED_WITH_CONTENT: Final = frozenset({"script", "style", "head", "title", "template"})


def is_too_complex(html: str) -> bool:
    """Whether ``html`` has more than :data:`MAX_HTML_TAGS` tags."""
    return sum(1 for _ in _TAG_START.finditer(html)) > MAX_HTML_TAGS


def _tag_free(html: str) -> str:
    return _html.unescape(_TAG.sub("", html))


def sanitise_html(html: str) -> str:
    """``html`` with scripts, styles, event handlers, forms and unsafe links removed (nh3's
    allow-list; links get ``rel="noopener noreferrer"``). Returns a fragment, never raises.

    HTML too complex to sanitise in good time (:func:`is_too_complex`) comes back as its text,
    escaped, in a ``<pre>``.
    """
    if is_too_complex(html):
        return "<pre>" + _html.escape(_tag_free(html)) + "</pre>"
    return nh3.clean(
        html, url_schemes=set(_URL_SCHEMES), clean_content_tags=set(_DROPPED_WITH_CONTENT)
    ).strip()


def html_to_text(html: str) -> str:
    """The text a reader sees in ``html``: blocks and line breaks kept, tags and entities gone.

    Give it sanitised HTML: then no script or style text can reach the result.
    """
    try:
        text: str = get_text(html)
    except Exception:  # inscriptis (lxml) refusing a document: the tag-free text instead
        text = ""
    if not text.strip():
        # lxml gives up past 256 levels of nesting and returns nothing; the words are still there.
        text = _tag_free(html)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")
