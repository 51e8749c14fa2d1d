"""One typed registry for every extension point: feeds, map layers, panel types and rule kinds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

BUILTIN = "built-in"  # what a registry says of an entry the app itself registered


class UnknownName(KeyError):
    """A name no entry of the registry has; the message lists the names it has."""

    def __str__(self) -> str:  # KeyError quotes its argument: say the sentence as written
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Entries by name, in registration order; the built-ins register through the same call a plugin uses.

    `what` names an entry in errors ("feed", "panel type"), `name_of` reads an entry's name, and `accepts`
    says whether an object a plugin hands over is an entry at all (a plugin's mistake is named, not taken).
    Iterating gives the entries; `in` and `[]` take names.
    """

    def __init__(self, what: str, name_of: Callable[[T], str], accepts: Callable[[object], bool]) -> None:
        self.what = what
        self._name_of = name_of
        self._accepts = accepts
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}

    def register(self, entry: T, origin: str = BUILTIN) -> T:
        """Add an entry; a second entry of the same name is an error, not a silent override."""
        name = self.name_of(entry)
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered (by {self._origins[name]}); "
                             f"{origin} cannot register it again")
        self.check_name(name)
        self._entries[name] = entry
        self._origins[name] = origin
        return entry

    def name_of(self, entry: object) -> str:
        """The name of an entry; TypeError for an object that is not one of this registry's entries."""
        if not self._accepts(entry):
            raise TypeError(f"{entry!r} is not a {self.what}")
        return self._name_of(entry)  # type: ignore[arg-type]  # accepts() said it is a T

    def check_name(self, name: str) -> None:
        """Refuse a name this kind of entry cannot have (a subclass's rule; any non-empty text by default)."""
        if not name:
            raise ValueError(f"a {self.what} needs a name")

    def replace(self, name: str, entry: T) -> None:
        """Put a changed version of a registered entry in its place (same name, same origin)."""
        if self.name_of(entry) != name:
            raise ValueError(f"{self.what} {name!r} cannot be replaced by one named {self.name_of(entry)!r}")
        self[name]  # noqa: B018 — an unknown name is refused with the known ones listed
        self._entries[name] = entry

    def __getitem__(self, name: str) -> T:
        """The entry of that name; UnknownName, listing the known names, when there is none."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(self.unknown(name)) from None

    def get(self, name: str) -> T | None:
        """The entry of that name, or None."""
        return self._entries.get(name)

    def unknown(self, name: str) -> str:
        """The sentence refusing a name this registry does not have."""
        known = ", ".join(self._entries) or "none"
        return f"{name!r} is not a registered {self.what} (known: {known})"

    def require(self, name: str) -> str:
        """The name itself when registered, else ValueError listing the known names (a pydantic validator)."""
        if name not in self._entries:
            raise ValueError(self.unknown(name))
        return name

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs, in registration order."""
        return list(self._entries.items())

    def origin(self, name: str) -> str:
        """Who registered an entry: BUILTIN, or the plugin's distribution and entry point."""
        self[name]  # noqa: B018
        return self._origins[name]

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._entries.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} {self.what}s: {', '.join(self._entries)}>"
