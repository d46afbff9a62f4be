"""Text people type, or a chat platform hands over, as bizbot keeps and compares it.

Characters that show nothing can still change what a reader sees: a right-to-left override (U+202E) shows
"Acme<U+202E>txt.exe" as "Acmeexe.txt", and a zero-width space (U+200B) after 华为 makes a second 华为 that
looks like the first. They are dropped wherever a name or a free text is taken in. Names that merely look
alike (full-width letters, another case, spaces) are told apart by `lookalike_key`.
"""
from __future__ import annotations

import re
import unicodedata

# Bidirectional controls (U+061C, U+200E/F, U+202A–E, U+2066–9), zero-width and joining characters
# (U+200B–D, U+2060, U+FEFF), invisible operators and deprecated format controls (U+2061–4, U+206A–F),
# the soft hyphen, the combining grapheme joiner, Hangul and Khmer fillers, Mongolian selectors, interlinear
# annotation marks, musical format controls and the tag characters (which can carry hidden ASCII).
INVISIBLE = ("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
             "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a"
             "\U000e0000-\U000e007f]")
_INVISIBLE = re.compile(INVISIBLE)
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")  # variation selectors: a glyph's style


def visible(text: str) -> str:
    """`text` without its invisible characters, in composed form (NFC)."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def lookalike_key(text: str) -> str:
    """What two names share when a reader cannot tell them apart: compatibility forms folded (NFKC: ＨＵＡＷＥＩ
    is HUAWEI), case folded, invisible characters, variation selectors and all white space left out."""
    text = unicodedata.normalize("NFKC", _SELECTORS.sub("", _INVISIBLE.sub("", text)))
    text = unicodedata.normalize("NFKC", text.casefold())
    return "".join(_INVISIBLE.sub("", text).split())
