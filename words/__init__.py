"""UI words: one gettext catalog (Chinese first, English available), read with Babel from the .po sources."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGS = ("zh", "en")  # Chinese is the source language and the default; English is `?lang=en`
DOMAIN = "messages"
T = TypeVar("T")


def po_path(lang: str) -> Path:
    """The .po source of a language."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def norm(lang: str | None) -> str:
    """The catalog language for a requested one: English when asked for, else Chinese."""
    return "en" if lang == "en" else "zh"


@cache
def catalog(lang: str) -> dict[tuple[str, str], str]:
    """A language's messages, (context, key) → text; context "" is the app's shared words."""
    with po_path(lang).open("rb") as f:
        po = read_po(f, locale=None, domain=DOMAIN)
    return {(m.context or "", str(m.id)): str(m.string) for m in po if m.id}


class Words:
    """The words of one part of the UI (a gettext message context), read in a language and formatted."""

    def __init__(self, context: str = "") -> None:
        self.context = context

    def __call__(self, key: str, lang: str | None = "zh", /, **kw: object) -> str:
        text = catalog(norm(lang))[(self.context, key)]
        return text.format(**kw)

    def both(self, key: str, /, **kw: object) -> tuple[str, str]:
        """A word in Chinese and in English at once, for texts stored in both (an alarm's title, message)."""
        return self(key, "zh", **kw), self(key, "en", **kw)

    def pair(self, key: str, /, **kw: object) -> str:
        """A word in both languages at once, "中文 / English": the theme owners' console, which shows both."""
        zh, en = self.both(key, **kw)
        return f"{zh} / {en}"

    def get(self, key: str, lang: str | None, default: str) -> str:
        """A word keyed by data (a department's Chinese name), or `default` when the catalog lacks it."""
        return catalog(norm(lang)).get((self.context, key), default)

    def has(self, key: str) -> bool:
        """Whether the catalog holds this key in this context."""
        return (self.context, key) in catalog("zh")


t = Words()  # the app's shared words (no context)


def pick(zh: T, en: T, lang: str | None) -> T:
    """Choose between a Chinese and an English value that come as data (theme files, boundaries)."""
    return en if lang == "en" else zh


def other_lang(lang: str | None) -> str:
    """The language a page's language switch leads to."""
    return "zh" if lang == "en" else "en"


def html_lang(lang: str | None) -> str:
    """The HTML `lang` attribute for a language, so screen readers and fonts pick the right script."""
    return "en" if lang == "en" else "zh-CN"


def lang_param(lang: str | None) -> str | None:
    """The `lang` query value a link keeps: `en`, or none for the default Chinese."""
    return "en" if lang == "en" else None


def lang_query(lang: str | None, sep: str = "?") -> str:
    """A query suffix that keeps English on a link (`?lang=en`), or nothing for Chinese."""
    return f"{sep}lang=en" if lang == "en" else ""
