"""The argument grammar every platform shares: words, key=value, quoted values, Chinese text."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_
from domain.kernel.text import INVISIBLE

QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "『": "』", "„": "“"}
_KEY = re.compile(r"([^\W\d][\w-]{0,31})[=＝]", re.UNICODE)
MAX_LINE = 4000
# a stretch of a token outside quotes (re's \s is str.isspace's whitespace)
_PLAIN = re.compile("[^\\s" + re.escape("".join(QUOTES)) + "]+")
# what typed text never keeps: control characters, and characters that show nothing (domain.kernel.text)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|" + INVISIBLE)


@dataclass
class ParsedLine:
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def _read_quoted(line: str, i: int) -> tuple[str, int]:
    """A quoted part from its opening quote: its text and where it ends. A backslash escapes the closing
    quote or a backslash; any other backslash is kept. Unescaped stretches are taken whole (a note may be
    thousands of characters)."""
    close = QUOTES[line[i]]
    out: list[str] = []
    i += 1
    while True:
        end = line.find(close, i)
        if end < 0:
            raise Invalid(N_("A quote is not closed: add the closing {quote}."), quote=close)
        slash = line.find("\\", i, end)
        if slash < 0:
            out.append(line[i:end])
            return "".join(out), end + 1
        out.append(line[i:slash])
        if line[slash + 1] in (close, "\\"):
            out.append(line[slash + 1])
            i = slash + 2
        else:
            out.append("\\")
            i = slash + 1


def _read_token(line: str, i: int) -> tuple[str, bool, int]:
    """One whitespace-separated token; quoted parts join the token (note="a b" is one token)."""
    parts: list[str] = []
    quoted = False
    while i < len(line):
        plain = _PLAIN.match(line, i)
        if plain:
            parts.append(plain.group())
            i = plain.end()
        elif line[i] in QUOTES:
            text, i = _read_quoted(line, i)
            parts.append(text)
            quoted = True
        else:  # whitespace: the token ends
            break
    return "".join(parts), quoted, i


def parse_line(line: str) -> ParsedLine:
    if len(line) > MAX_LINE:
        raise Invalid(N_("That message is too long ({length} characters; at most {limit})."),
                      length=len(line), limit=MAX_LINE)
    line = CONTROL.sub("", line)
    parsed = ParsedLine()
    i = 0
    while i < len(line):
        if line[i].isspace():
            i += 1
            continue
        start = i
        key_match = _KEY.match(line, i) if line[i] not in QUOTES else None
        if key_match:
            key = key_match.group(1).lower()
            value, _quoted, i = _read_token(line, key_match.end())
            if key in parsed.options:
                raise Invalid(N_("The option {key}= is given twice."), key=key)
            parsed.options[key] = value
            continue
        token, quoted, i = _read_token(line, start)
        if token or quoted:
            parsed.words.append(token)
    return parsed
