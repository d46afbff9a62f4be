"""Fill Chinese translations from a JSON map {msgid: msgstr}: python locales/fill.py map.json

Run `bizbot i18n extract` first; `bizbot i18n check` afterwards says what is still missing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent / "zh_Hans" / "LC_MESSAGES" / "bizbot.po"


def main(path: str) -> None:
    wanted = json.loads(Path(path).read_text(encoding="utf-8"))
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans_CN")
    unknown = [k for k in wanted if k not in catalog]
    for msgid, msgstr in wanted.items():
        if msgid in catalog:
            catalog[msgid].string = msgstr
            catalog[msgid].flags.discard("fuzzy")
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True, no_location=True, ignore_obsolete=True)
    for k in unknown:
        print(f"not in the catalog (run `bizbot i18n extract`?): {k!r}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
