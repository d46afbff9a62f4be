"""Explicit wiring: the registries areas fill (due kinds, measures, agenda sources, ...), built in one place.

A registry is reached through a typed key declared next to what it holds, so the kernel knows no area:

    DUE_KINDS: Key[DueKind] = Key("due kinds")          # in domain.delivery.due
    wiring[DUE_KINDS].add(DueKind("callback", fire))     # in domain.crm's register(wiring)
    kind = uow.wiring[DUE_KINDS].get(item.kind)          # where it is used

Each area's `register(wiring)` adds its entries, the composition root calls them, and a unit of work
carries the wiring it was built with. Importing a module registers nothing.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Key(Generic[T]):
    """Names one registry of a wiring; two keys are two registries, whatever they are called."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"Key({self.what!r})"


class Registry(Mapping[str, T]):
    """Entries by name, in the order they were added; a name is taken once."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def add(self, *entries: T) -> None:
        for entry in entries:
            if entry.name in self._entries:
                raise ValueError(f"{self.what}: {entry.name!r} is registered twice")
            self._entries[entry.name] = entry

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {list(self._entries)})"


class Wiring:
    """The registries of one application; a registry nobody added to is there, empty."""

    def __init__(self) -> None:
        self._registries: dict[Key[Any], Registry[Any]] = {}

    def __getitem__(self, key: Key[T]) -> Registry[T]:
        registry = self._registries.get(key)
        if registry is None:
            registry = self._registries[key] = Registry(key.what)
        return registry

    def __bool__(self) -> bool:
        """Whether anything was registered."""
        return any(self._registries.values())

    def __repr__(self) -> str:
        return f"Wiring({list(self._registries.values())})"
