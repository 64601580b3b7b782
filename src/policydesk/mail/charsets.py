"""Bytes to text in whatever charset a message declares, or does not, without ever raising.

Mail in the wild mislabels its charset all the time: ``us-ascii`` over UTF-8, ``iso-8859-1``
over Windows-1252 smart quotes, ``gb2312`` over GBK characters, names Python does not know
(``x-unknown``, ``iso-8859-8-i``) and pseudo-codecs (``base64``, ``rot13``) that are no text
encoding at all. :func:`decode_bytes` reads each the way mail clients and browsers do and says
so when it had to guess.
"""

from __future__ import annotations

import codecs
import re
from typing import Final, NamedTuple

import charset_normalizer

__all__ = ["Decoded", "clean_text", "decode_bytes", "undo_surrogates"]

#: Labels read as a superset that real senders mean by them (the WHATWG encoding standard's
#: choices: browsers read ``iso-8859-1`` as ``windows-1252``, and so do mail clients).
_SUPERSETS: Final[dict[str, str]] = {
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}

#: Labels Python does not know, with the codec they name.
_ALIASES: Final[dict[str, str]] = {
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "x-sjis": "cp932",
    "x-euc-jp": "euc_jp",
    "x-mac-roman": "mac-roman",
    "ansi_x3.4-1968": "ascii",
}

#: Codecs that exist but are no charset a message can be written in.
_NOT_CHARSETS: Final[frozenset[str]] = frozenset(
    {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}
)

#: What charset_normalizer may answer when a message does not say (or lies): the charsets mail
#: is actually written in. Left unrestricted it reads a short Latin-1 word as Urdu.
_LIKELY: Final[list[str]] = [
    "utf_8",
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp874",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5",
    "cp949",
]


_ANY_SURROGATE = re.compile("[\ud800-\udfff]")
#: What surrogateescape makes of the bytes 0x80-0xFF.
_ESCAPED_RUN = re.compile("[\udc80-\udcff]+")


#: Below this many bytes a statistical guess is noise (three bytes "read" as Big5): short
#: texts without a usable label are read as Windows-1252, the likeliest truth.
_MIN_GUESS_BYTES: Final = 48


class Decoded(NamedTuple):
    """A decoded text, and how it was read when that was not as declared (else None)."""

    text: str
    note: str | None = None


def _codec(label: str | None) -> str | None:
    """The Python codec a charset label means, or None when it names no text encoding."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # Codecs such as base64 and rot13 are registered but turn bytes into bytes.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return _SUPERSETS.get(info.name, info.name)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _western(data: bytes) -> str:
    # Windows-1252 leaves five bytes undefined; Latin-1 maps every byte, so nothing raises.
    return _strict(data, "cp1252") or data.decode("latin-1")


def _guess(data: bytes) -> tuple[str, str] | None:
    if len(data) < _MIN_GUESS_BYTES:
        return None
    best = charset_normalizer.from_bytes(data, cp_isolation=_LIKELY).best()
    if best is None:
        return None
    return str(best), best.encoding


def decode_bytes(data: bytes, charset: str | None) -> Decoded:
    """``data`` as text: in its declared ``charset`` when that reads, else UTF-8, else a guess.

    Never raises. The order: the declared charset (read as its common superset), strictly;
    UTF-8, strictly (the usual truth behind ``us-ascii`` or a wrong label); for 48 bytes or
    more, charset_normalizer's guess among the charsets mail is written in; Windows-1252, with
    Latin-1 for its five undefined bytes. The result's ``note`` says which fallback was taken,
    if any.
    """
    codec = _codec(charset)
    if codec is not None:
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text)
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        if codec is None and charset and not data.isascii():
            return Decoded(utf8, f"unknown charset {charset!r}; read as UTF-8")
        if codec is not None:
            return Decoded(utf8, f"not valid {charset}; read as UTF-8")
        return Decoded(utf8)
    said = f"charset {charset!r} " + ("did not fit" if codec else "unknown") if charset else None
    guessed = _guess(data)
    if guessed is not None:
        text, found = guessed
        return Decoded(text, f"{said or 'no charset declared'}; guessed {found}")
    return Decoded(_western(data), f"{said or 'no charset declared'}; read as Windows-1252")


def undo_surrogates(text: str) -> str:
    """Text with the raw bytes the parser kept as surrogate escapes decoded properly.

    The ``email`` package keeps undecodable 8-bit bytes in headers as lone surrogates
    (``\\udce9``); they cannot be stored or shown. Each run of them is turned back into bytes
    and decoded as UTF-8, else Windows-1252 (raw 8-bit headers are nearly always one of the
    two). Any other lone surrogate becomes U+FFFD.
    """
    if not _ANY_SURROGATE.search(text):
        return text
    text = _ESCAPED_RUN.sub(lambda m: _raw_run(m.group().encode("utf-8", "surrogateescape")), text)
    return _ANY_SURROGATE.sub("\ufffd", text)


def _raw_run(raw: bytes) -> str:
    return _strict(raw, "utf-8") or _western(raw)


def clean_text(text: str) -> str:
    """Text that any database can store: escapes decoded and NUL characters made visible."""
    return undo_surrogates(text).replace("\x00", "\ufffd")
