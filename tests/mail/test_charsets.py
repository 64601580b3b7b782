"""Any charset: declared, mislabelled, unknown or absent, bytes always become text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policydesk.mail.charsets import clean_text, decode_bytes, undo_surrogates
from policydesk.mail.headers import header_text

GERMAN = "Grüße aus München: die Bestellung 4521 hängt seit gestern im Status „offen“."


@pytest.mark.parametrize(
    ("data", "charset", "text", "note"),
    [
        (b"plain", None, "plain", None),
        ("Grüße".encode(), "utf-8", "Grüße", None),
        ("Grüße".encode(), None, "Grüße", None),
        ("Привет".encode("koi8_r"), "KOI8-R", "Привет", None),
        ("“quoted”".encode("cp1252"), "iso-8859-1", "“quoted”", None),  # read as Windows-1252
        ("陶喆".encode("gbk"), "gb2312", "陶喆", None),  # GBK characters under a GB2312 label
        ("Grüße".encode(), "us-ascii", "Grüße", "not valid us-ascii; read as UTF-8"),
        ("Grüße".encode(), "x-unknown", "Grüße", "unknown charset 'x-unknown'; read as UTF-8"),
        ("Grüße".encode(), '"utf-8"', "Grüße", None),
        ("Grüße".encode(), "rot13", "Grüße", "unknown charset 'rot13'; read as UTF-8"),
        ("Grüße".encode(), "base64", "Grüße", "unknown charset 'base64'; read as UTF-8"),
        ("été".encode("cp1252"), None, "été", "no charset declared; read as Windows-1252"),
        (
            "été".encode("cp1252"),
            "utf-8",
            "été",
            "charset 'utf-8' did not fit; read as Windows-1252",
        ),
        (b"\x81\x8d", None, "\x81\x8d", "no charset declared; read as Windows-1252"),
        (
            GERMAN.encode("cp1252"),
            "x-bogus",
            GERMAN,
            "charset 'x-bogus' unknown; guessed cp125",  # 1250 or 1252: the same for German
        ),
    ],
)
def test_bytes_are_read_in_the_declared_charset_else_by_the_fallbacks_with_a_note(
    data: bytes, charset: str | None, text: str, note: str | None
) -> None:
    decoded = decode_bytes(data, charset)
    assert decoded.text == text
    if note is None:
        assert decoded.note is None
    else:
        assert decoded.note is not None
        assert decoded.note.startswith(note)


@given(st.binary(max_size=300), st.sampled_from([None, "utf-8", "koi8-r", "x-nonsense", "hex"]))
def test_decoding_never_raises_and_always_gives_storable_text(
    data: bytes, charset: str | None
) -> None:
    text = clean_text(decode_bytes(data, charset).text)
    text.encode("utf-8")
    assert "\x00" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Gr\udcc3\udcbc\udcc3\udc9fe", "Grüße"),  # raw UTF-8 bytes
        ("caf\udce9", "café"),  # raw Windows-1252 bytes
        ("\udcc3\udcbc and \udce9", "ü and é"),  # each run read on its own
        ("lone \ud800 high", "lone \ufffd high"),  # not a byte escape: replaced
        ("nothing to do", "nothing to do"),
    ],
)
def test_escaped_header_bytes_are_decoded_run_by_run(value: str, expected: str) -> None:
    assert undo_surrogates(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        ("=?utf-8?q?a?= =?utf-8?q?b?= c", "ab c"),  # whitespace between words is dropped
        ("=?utf-8?b?w6?= =?utf-8?b?qQ==?=", "é"),  # a character split across two words
        ("=?ISO-8859-1?Q?caf=E9?= au lait", "café au lait"),
        ("=?x-bogus?q?caf=E9?=", "café"),  # unknown charset: Windows-1252
        ("=?utf-8*de?q?Hallo?=", "Hallo"),  # RFC 2231 language suffix
        ("=?utf-8?b?!!!?=", ""),
        ("C:\\users =?utf-8?q?x?=", "C:\\users x"),  # text around the words left alone
        ("Folded\r\n  line", "Folded line"),
        ("no encoding at all", "no encoding at all"),
    ],
)
def test_header_text_decodes_encoded_words_leniently(value: str, expected: str) -> None:
    assert header_text(value) == expected
