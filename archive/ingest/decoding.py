"""Bytes to text: which encoding a file is in, or that it is not text at all."""

from __future__ import annotations


def _texty(text: str) -> bool:
    """Mostly letters, digits, spaces and punctuation: not binary data read as characters."""
    if not text:
        return True
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0xE000 <= ord(ch) <= 0xF8FF or ch == "\ufffd")
    return bad / len(text) < 0.01


def _arabic_or_latin(text: str) -> bool:
    """Nearly all characters ASCII, Arabic (any block) or general punctuation: what a UTF-16
    guess must produce to be believed (a wrong byte order yields CJK-like noise)."""
    ok = sum(
        1
        for ch in text
        if ord(ch) < 0x80 or 0x0600 <= ord(ch) <= 0x08FF or 0xFB50 <= ord(ch) <= 0xFEFF or 0x2000 <= ord(ch) <= 0x206F
    )
    return bool(text) and ok / len(text) >= 0.95


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), UTF-16 with a BOM or without one (told by where
    its zero bytes fall), else Windows-1256 (Arabic); ``ValueError`` for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    zeros = data.count(0)
    if zeros * 20 > len(data) and len(data) % 2 == 0:  # ASCII spaces and digits in UTF-16 are half zero
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if _arabic_or_latin(text) and _texty(text):
                return text, enc
    try:
        text = data.decode("utf-8")
        if _texty(text.replace("\x00", "")):
            return text, "utf-8"  # a stray NUL is reported by the caller
    except UnicodeDecodeError:
        pass
    if zeros:
        raise ValueError("binary data (NUL bytes; not UTF-8, UTF-16 or Windows-1256 text)")
    text = data.decode("cp1256", errors="replace")
    if not _texty(text):
        raise ValueError("binary data (control bytes; not UTF-8, UTF-16 or Windows-1256 text)")
    return text, "cp1256"
