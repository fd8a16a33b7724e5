"""Bytes to text: which encoding a file is in, or that it is not text at all.

Unicode first (a BOM, UTF-16 told by where its zero bytes fall, UTF-8); then the Arabic code
pages (Windows-1256, ISO-8859-6, MacArabic), each tried strictly and believed only if it reads
the bytes as a language of the Arabic script (charset-normalizer's letter-frequency model) and
hardly misreads a word (a wrong Arabic page mixes Latin or other letters into Arabic words: the
pages share most letters, not their places); then, for text that is not Arabic,
``charset-normalizer``'s detection. charset-normalizer alone does not know MacArabic (it reads it
as Thai), hence the Arabic pages first.
"""

from __future__ import annotations

import re


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


ARABIC_PAGES = ("cp1256", "iso8859_6", "mac_arabic")  # tried in this order; ties go to the first
_WORD = re.compile(r"[^\W\d_]+")
_ARABIC = "\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff"  # letters of the Arabic script (Persian, Urdu too)
_ARABIC_LETTER = re.compile(f"[{_ARABIC}]")
_MARK = re.compile("[\u064b-\u0652]")
_FOREIGN_LETTER = re.compile(f"[^\\W\\d_a-zA-Z{_ARABIC}\u0640\u064b-\u065f\u0670]")  # nor tatweel, nor marks
ARABIC_SCRIPT_LANGUAGES = ("Arabic", "Farsi", "Urdu")
MISREAD_SHARE = 0.01  # words an Arabic code page may misread before it is not believed
FREQUENCIES_FROM = 20  # words: a shorter text is judged by its misread words and its marks


def _misread(text: str) -> int:
    """Words that mix Arabic letters with letters of another script (``ماà``), plus C1 control
    characters: how wrong an Arabic code page read the bytes (0 for the right one)."""
    mixed = sum(1 for w in _WORD.findall(text) if _ARABIC_LETTER.search(w) and _FOREIGN_LETTER.search(w))
    return mixed + sum(1 for ch in text if 0x80 <= ord(ch) <= 0x9F)


def _reads_arabic(text: str) -> bool:
    """Whether the letters' frequencies are those of a language of the Arabic script
    (charset-normalizer's model): Greek or Cyrillic bytes read through MacArabic are not."""
    from charset_normalizer.cd import coherence_ratio

    return any(lang in ARABIC_SCRIPT_LANGUAGES and ratio >= 0.2 for lang, ratio in coherence_ratio(text[:5000]))


def _few_marks(text: str) -> bool:
    """Short text, too short for letter frequencies: no more vowel marks than a lightly vocalized
    text has (other scripts read through MacArabic come out thick with marks)."""
    letters = len(_ARABIC_LETTER.findall(text))
    return letters > 0 and len(_MARK.findall(text)) < 0.3 * letters


def _arabic_page(data: bytes) -> tuple[str, str] | None:
    """(text, code page) of bytes that one of the Arabic code pages reads as mostly Arabic words
    it hardly misreads; None when none does (the text is not Arabic)."""
    best: tuple[int, int, int, int, str, str] | None = None
    for rank, enc in enumerate(ARABIC_PAGES):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        words = _WORD.findall(text)
        arabic = sum(1 for w in words if _ARABIC_LETTER.search(w))
        misread = _misread(text)
        if not words or arabic * 2 < len(words) or misread > max(1, MISREAD_SHARE * len(words)):
            continue
        if not (_reads_arabic(text) if len(words) >= FREQUENCIES_FROM else _few_marks(text)):
            continue
        # ISO-8859-6 and MacArabic place the letters alike and differ in punctuation: between
        # them, no-break spaces and soft hyphens tell ISO's reading of MacArabic's space and hyphen
        family = 0 if enc == "cp1256" else 1
        odd = text.count("\u00a0") + text.count("\u00ad")
        candidate = (misread, family, odd, rank, text, enc)
        if best is None or candidate[:4] < best[:4]:
            best = candidate
    return (best[4], best[5]) if best else None


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), UTF-16 with a BOM or without one, an Arabic code
    page, else what charset-normalizer detects; ``ValueError`` for binary or undecodable data."""
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
        raise ValueError("binary data (NUL bytes; not UTF-8 or UTF-16 text)")
    found = _arabic_page(data)
    if found is None:
        from charset_normalizer import from_bytes

        match = from_bytes(data).best()
        try:  # the detected encoding must read every byte: a guess that needs repairs is no reading
            found = (data.decode(match.encoding), match.encoding) if match and match.encoding else None
        except (UnicodeDecodeError, LookupError):
            found = None
        if found is None:
            raise ValueError("not text in any encoding this reads (UTF-8, UTF-16, Arabic code pages, detected ones)")
    if not _texty(found[0]):
        raise ValueError(f"binary data (control bytes; read as {found[1]})")
    return found
