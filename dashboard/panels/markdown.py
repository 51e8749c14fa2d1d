"""Theme owners' Markdown notes, parsed once by markdown-it-py (CommonMark): the links the validator judges are
the links the wall renders, because the wall renders the same parse as Dash components (react-markdown in the
browser read `\\/plan` as `//plan`, a link to another host, where CommonMark reads `/plan`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from dash import dcc, html
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

class _EveryLink(MarkdownIt):
    """CommonMark whose own link validation is off, so that every address reaches our own check, named."""

    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it-py's name
        return True


# No raw HTML (it stays text).
_PARSER = _EveryLink("commonmark", {"html": False}).enable("table").enable("strikethrough")


def parse(text: str) -> tuple[SyntaxTreeNode, dict[str, Any]]:
    """The text's syntax tree and its environment (reference definitions)."""
    env: dict[str, Any] = {}
    return SyntaxTreeNode(_PARSER.parse(text, env)), env


def links(text: str) -> list[tuple[str, str]]:
    """(kind, address) of every link and image the text renders, and of every reference it defines."""
    tree, env = parse(text)
    found = [("link", str(n.attrs.get("href", ""))) if n.type == "link" else ("image", str(n.attrs.get("src", "")))
             for n in tree.walk() if n.type in ("link", "image")]
    return found + [("link", str(ref.get("href", ""))) for ref in env.get("references", {}).values()]


def wall_path(address: str) -> bool:
    """Whether an address is a page of this app, as a browser resolves it: one leading slash (not //, not /\\
    after decoding), no scheme, no host, no control characters or spaces."""
    decoded = unquote(address)
    if not decoded.startswith("/") or decoded.startswith("//") or "\\" in decoded:
        return False
    parts = urlsplit(decoded)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 0x21 for c in decoded)


def web_address(address: str) -> bool:
    """An http(s) address with a host."""
    parts = urlsplit(address)
    return (parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and "\\" not in address
            and not any(ord(c) < 0x21 for c in address))


def link_allowed(address: str) -> bool:
    """A link a note may carry: a page of the wall, a website, or a place on this page."""
    return wall_path(address) or web_address(address) or address.startswith("#")


_BLOCKS: dict[str, Any] = {"paragraph": html.P, "blockquote": html.Blockquote, "bullet_list": html.Ul,
                           "ordered_list": html.Ol, "list_item": html.Li, "table": html.Table, "thead": html.Thead,
                           "tbody": html.Tbody, "tr": html.Tr, "th": html.Th, "td": html.Td,
                           "em": html.Em, "strong": html.Strong, "s": html.S}


def _flat(items: list[Any]) -> list[Any]:
    """Children as one list (Dash renders no list inside a list)."""
    out: list[Any] = []
    for item in items:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


def _component(node: SyntaxTreeNode) -> Any:
    kids = _flat([_component(c) for c in node.children])
    if node.type == "text":
        return node.content
    if node.type in ("softbreak",):
        return "\n"
    if node.type == "hardbreak":
        return html.Br()
    if node.type == "heading":
        return getattr(html, node.tag.upper())(kids)
    if node.type == "hr":
        return html.Hr()
    if node.type == "code_inline":
        return html.Code(node.content)
    if node.type in ("code_block", "fence"):
        return html.Pre(html.Code(node.content))
    if node.type == "link":
        href = str(node.attrs.get("href", ""))
        if not link_allowed(href):  # the validator refuses such a note; never render one that slipped past
            return html.Span(kids)
        return dcc.Link(kids, href=href) if wall_path(href) else html.A(kids, href=href, target="_self")
    if node.type == "image":
        src = str(node.attrs.get("src", ""))
        return html.Img(src=src, alt=node.content) if wall_path(src) else node.content
    if node.type == "paragraph" and node.hidden:  # a tight list's item: no paragraph around it
        return kids
    if node.type in _BLOCKS:
        return _BLOCKS[node.type](kids)
    return kids  # root, inline and anything plain


def render(text: str, class_name: str = "ls-md") -> html.Div:
    """The note as Dash components, from the same parse the validator judged."""
    tree, _ = parse(text)
    return html.Div(_flat([_component(tree)]), className=class_name)
