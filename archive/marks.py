"""The highlighter's output format read back as text: escaped HTML whose matches are in
``<mark>`` tags. Kept apart from ``highlight`` so that a front end showing answers it did not
compute (the command line reading a server's JSON) needs neither the analyzer nor the model."""

from __future__ import annotations

import html
import re


def to_plain(marked_html: str, open_mark: str = "", close_mark: str = "") -> str:
    """Text of a highlighter output (for terminals and exports): marks become ``open_mark`` /
    ``close_mark``, entities are decoded, runs of whitespace become one space."""
    text = marked_html.replace("<mark>", open_mark).replace("</mark>", close_mark)
    return html.unescape(re.sub(r"\s+", " ", text)).strip()
