"""Extract, update and check the message catalogs (run as `bizbot i18n extract|check`)."""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / "bizbot.pot"
SOURCE_DIRS = ("bot", "handlers", "domain")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
CATALOGS = {"en": LOCALES / "en/LC_MESSAGES/bizbot.po", "zh_Hans": LOCALES / "zh_Hans/LC_MESSAGES/bizbot.po"}


def extract() -> Catalog:
    """Every translatable string in the source, as a template."""
    template = Catalog(project="bizbot", version="0.1", fuzzy=False)
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
        ):
            template.add(message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    for location, example in examples():
        template.add(example, None, [(location, 0)], auto_comments=["a command typed as an example: translate it "
                                                                    "into one a Chinese user types"])
    return template


def examples() -> list[tuple[str, str]]:
    """Every command's examples (handlers.registry.Command.examples): /help shows them in the reader's language,
    so each is a message too, translated into a command a Chinese user would type."""
    import handlers

    return [(f"handlers: /{cmd.name}", example)
            for cmd in handlers.load().commands.values() for example in cmd.examples]


def _dump(catalog: Catalog, **kw: bool) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=True, **kw)
    return buf.getvalue()


def write_template() -> None:
    TEMPLATE.write_bytes(_dump(extract(), no_location=False))


def update_catalogs() -> None:
    """Merge the template into each catalog (new strings appear untranslated)."""
    with TEMPLATE.open("rb") as fh:
        template = read_po(fh)
    for locale, path in CATALOGS.items():
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="bizbot")
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_dump(catalog, no_location=True, ignore_obsolete=True))


def msgids(catalog: Catalog) -> set[str]:
    return {m.id for m in catalog if m.id and isinstance(m.id, str)} | {
        m.id[0] for m in catalog if m.id and isinstance(m.id, tuple)
    }


def problems() -> list[str]:
    """What is wrong with the catalogs: a stale template, a missing or untranslated string."""
    found: list[str] = []
    source = msgids(extract())
    with TEMPLATE.open("rb") as fh:
        template = msgids(read_po(fh))
    if source != template:
        found += [f"template lacks: {m!r}" for m in sorted(source - template)]
        found += [f"template has stale: {m!r}" for m in sorted(template - source)]
    for locale, path in CATALOGS.items():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for msgid in sorted(source):
            msg = catalog.get(msgid)
            if msg is None:
                found.append(f"{locale} lacks: {msgid!r}")
            elif locale != "en" and (not msg.string or msg.fuzzy):
                found.append(f"{locale} does not translate: {msgid!r}")
            elif msg.string and _placeholders(msg.string) != _placeholders(msgid):
                found.append(f"{locale} placeholders differ: {msgid!r}")
    return found


def _placeholders(text: str) -> set[str]:
    import string

    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
