"""`python -m words add CONTEXT KEY CHINESE ENGLISH` adds a word to both catalogs; `check` lists faults."""

from __future__ import annotations

import argparse
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from words import DOMAIN, LANGS, po_path


def load(lang: str) -> Catalog:
    """A language's catalog as Babel reads it."""
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def save(lang: str, cat: Catalog) -> None:
    """Write a catalog back, in the order its messages were added (so diffs stay small)."""
    po_path(lang).parent.mkdir(parents=True, exist_ok=True)
    with po_path(lang).open("wb") as f:
        write_po(f, cat, width=0, omit_header=False, sort_output=False, ignore_obsolete=True)


def add(context: str, entries: dict[str, tuple[str, str]]) -> None:
    """Add or change messages of one context, key → (Chinese, English), in every language."""
    for i, lang in enumerate(LANGS):
        cat = load(lang)
        for key, texts in entries.items():
            cat.add(key, texts[i], context=context or None)
        save(lang, cat)


def problems() -> list[str]:
    """Messages missing from a language or empty there, and texts that are not templates of named values."""
    from string import Formatter

    found = []
    cats = {lang: {(m.context or "", str(m.id)): str(m.string) for m in load(lang) if m.id} for lang in LANGS}
    keys = set().union(*cats.values())
    for ctx, key in sorted(keys):
        texts = {lang: cats[lang].get((ctx, key), "") for lang in LANGS}
        for lang, text in texts.items():
            if not text.strip():
                found.append(f"{ctx or '(shared)'} {key}: no {lang} text")
        # Each text is a str.format template whose fields are names a caller passes by keyword; a language
        # may leave a value out or use one the other does not show (Chinese 等 for English's "+2").
        for lang, text in texts.items():
            try:
                names = [f for _, f, _, _ in Formatter().parse(text) if f is not None]
            except ValueError as e:
                found.append(f"{ctx or '(shared)'} {key}: {lang} text is not a template: {e}")
                continue
            if bad := [f for f in names if not f.isidentifier()]:
                found.append(f"{ctx or '(shared)'} {key}: {lang} placeholders must be names: {bad}")
    return found


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    ap = argparse.ArgumentParser(prog="python -m words", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("add", help="add a word to the zh and en catalogs")
    a.add_argument("context", help='the part of the UI, e.g. "pages.case"; "" for the shared words')
    a.add_argument("key")
    a.add_argument("zh")
    a.add_argument("en")
    sub.add_parser("check", help="list messages without Chinese or English text")
    args = ap.parse_args(argv)
    if args.cmd == "add":
        add(args.context, {args.key: (args.zh, args.en)})
        return 0
    bad = problems()
    print("\n".join(bad) or "every message has Chinese and English text")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
