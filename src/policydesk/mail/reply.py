"""What a customer actually wrote in a reply, without the history their client quoted."""

from __future__ import annotations

import re
from typing import Final

import quotequail  # type: ignore[import-untyped]

__all__ = ["MAX_SCANNED_LINES", "reply_text"]

#: Quoted history is looked for in this many lines from the top; a reply whose own text is
#: longer than this is kept whole (and the look stays fast on a pasted log file).
MAX_SCANNED_LINES: Final = 2000

_QUOTED = re.compile(r"^[ \t]*>")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _unquoted(text: str) -> str:
    """The top and bottom text around the quoted message quotequail found, else ``text``.

    quotequail knows reply intros in many languages (``On … wrote:``, ``Am … schrieb``,
    ``Le … a écrit :``), Outlook's ``-----Original Message-----`` and ``From:``/``Sent:``
    header blocks, forwarding banners, and runs of ``>`` lines.
    """
    found = quotequail.unwrap(text)
    if not found:
        return text
    parts = [found.get("text_top", ""), found.get("text_bottom", "")]
    return "\n\n".join(p for p in parts if p)


def reply_text(text: str) -> str:
    """``text`` without quoted history: reply intros with everything quoted below them,
    Outlook header blocks with the message under them, and every ``>`` line.

    Meant for a reply that joins an existing ticket; a new ticket keeps the whole text (a
    forwarded message is its content). When nothing of the sender's own is left, for example
    a bare forward, the whole text is returned, stripped.

    >>> reply_text("Fixed!\\n\\nOn Tue, 3 Nov 2026, Help <help@example.com> wrote:\\n> Try it")
    'Fixed!'
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Beyond the scanned lines there is only more history (or a reply too long to have any).
    head = "\n".join(lines[:MAX_SCANNED_LINES])
    own = _unquoted(head)
    if own == head and len(lines) > MAX_SCANNED_LINES:
        own = "\n".join(lines)
    kept = "\n".join(line.rstrip() for line in own.split("\n") if not _QUOTED.match(line))
    kept = _BLANK_RUNS.sub("\n\n", kept).strip()
    return kept or text.strip()
