"""Notes bizbot writes into a record in its own words, shown in the reader's language.

A lead's stage change after a contract is signed ("contract K3 signed"), a complaint's satisfaction callback
("unsatisfied: still broken"): the words are kept as written, so older records read the same, and shown through
the message id of their form; whatever a person typed after them stays as typed.
"""
from __future__ import annotations

import re

from domain.kernel.i18n import N_, translate

OUTCOMES = {"satisfied": N_("satisfied"), "unsatisfied": N_("not satisfied")}
_FORMS = (
    (re.compile(r"contract (?P<ref>K\d+) signed"), N_("contract {ref} signed")),
    (re.compile(r"contract (?P<ref>K\d+)"), N_("contract {ref}")),
    (re.compile(r"(?P<outcome>satisfied|unsatisfied): (?P<note>.*)", re.DOTALL), N_("{outcome}: {note}")),
    (re.compile(r"(?P<outcome>satisfied|unsatisfied)"), "{outcome}"),
)


def note_text(text: str | None) -> str:
    """A stored note as the reader reads it (as written when bizbot did not write it)."""
    if not text:
        return ""
    for pattern, msgid in _FORMS:
        m = pattern.fullmatch(text)
        if m is not None:
            params = m.groupdict()
            if "outcome" in params:
                params["outcome"] = translate(OUTCOMES[params["outcome"]])
            return (translate(msgid) if msgid != "{outcome}" else msgid).format(**params)
    return text
