"""The notices in the console's output, one line each, whether sent alone or merged with others.

Notices due together for one person go as one message ("Notices (2):" and the notices numbered below it);
`notices` gives each of them as if it had been sent alone: "[2026-12-08 08:30] → @alice: <its first line>".
"""
from __future__ import annotations

import re

_PART = re.compile(r"^(\d+)\. (.*)$")
_MERGED = re.compile(r"^(\[[^\]]+\] → @[^:]+: )(?:Notices \((\d+)\):|通知（(\d+) 条）：)$")


def notices(text: str, who: str | None = None) -> list[str]:
    """Each notice sent in `text` (to `who`, or to anyone): its heading line, merged notices split apart."""
    found: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "→ @" not in line:
            continue
        merged = _MERGED.match(line)
        if merged is None:
            found.append(line)
            continue
        head, count, expected = merged.group(1), 0, int(merged.group(2) or merged.group(3))
        for part in lines[i + 1:]:
            if "→ @" in part:
                break
            numbered = _PART.match(part)
            if numbered is not None and int(numbered.group(1)) == count + 1:
                found.append(head + numbered.group(2))
                count += 1
        assert count == expected, f"{line!r} carries {expected} notices, {count} found"
    return [line for line in found if who is None or f"→ @{who}:" in line]
