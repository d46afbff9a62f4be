"""One page of a long reply, as the platforms that page answers cut it."""
from __future__ import annotations

import pytest

from handlers.replies import Reply, Section, paged

pytestmark = pytest.mark.fast


def test_items_are_counted_across_sections_and_empty_sections_keep_their_place() -> None:
    reply = Reply(sections=[Section("A", [f"a{i}" for i in range(3)]), Section("B", [], "none"),
                            Section("C", [f"c{i}" for i in range(4)])])
    first, page, pages = paged(reply, 0, 4)
    assert (page, pages) == (0, 2)
    assert [(s.title, items) for s, items in first] == [("A", ["a0", "a1", "a2"]), ("B", []), ("C", ["c0"])]
    second, page, _pages = paged(reply, 9, 4)                      # a page past the end is the last one
    assert page == 1 and [(s.title, items) for s, items in second] == [("B", []), ("C", ["c1", "c2", "c3"])]
