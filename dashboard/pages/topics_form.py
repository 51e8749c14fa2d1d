"""The theme editor's panel form, generated from each panel type's settings model (its JSON Schema).

The file's text stays the one source: the form is drawn from the text's `panels:` and writes back only that
block, so the rest of the file (its comments included) is kept as the owner wrote it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from dash import dcc, html
from pydantic import BaseModel

from dashboard.panels import PanelRegistry
from dashboard.panels.base import default_city
from dashboard.panels.settings import builtin_measures
from feeds import FeedRegistry
from feeds.known import feeds_in
from geo import City
from words import Words

tx = Words("pages.topics_form")  # the editor's words, shown in both languages at once

FIELD, MOVE, ADD_TYPE, ADD_GO, FORM = "pf-field", "pf-move", "pf-add-type", "pf-add-go", "admin-form"
RFIELD, RMOVE, RADD_KIND, RADD_GO, RULES_FORM = "rf-field", "rf-move", "rf-add-kind", "rf-add-go", "admin-rules-form"
RULE_FIELDS = ("id", "kind")  # every rule has these; the rest are its kind's
ROW_FIELDS = ("type", "column", "id", "title_zh", "title_en")  # every panel has these; the rest are its type's


@dataclass(frozen=True)
class FieldSpec:
    """One form field: how to draw it and what it accepts."""

    name: str
    widget: str  # text, textarea, number, integer, bool, choice, multi
    label: str
    required: bool = False
    default: Any = None
    options: tuple[tuple[Any, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _resolve(prop: dict[str, Any], defs: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """A property's schema with $ref followed and an Optional's null branch removed; and whether it was Optional."""
    optional = False
    if "anyOf" in prop:
        branches = [b for b in prop["anyOf"] if b.get("type") != "null"]
        optional = len(branches) < len(prop["anyOf"])
        prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **(branches[0] if branches else {})}
    if "$ref" in prop:
        prop = {**defs.get(prop["$ref"].rsplit("/", 1)[-1], {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop, optional


def choices(kind: str, theme: Mapping[str, Any], names: Mapping[str, str],
            city: City | None = None, feeds: FeedRegistry | None = None) -> tuple[tuple[Any, str], ...]:
    """The values a field naming the theme's KPIs, a measure, a region (of `city`, the app's; default the default
    settings' city), a feed or a device kind (of `feeds`, the app's registry) may take, with labels."""
    kpis: dict[str, str] = {}
    for k in theme.get("kpis") or []:
        if isinstance(k, dict) and isinstance(k.get("key"), str):
            kpis.setdefault(k["key"], f"{k.get('name_zh', '')} ({k['key']})")
    if kind == "kpis":
        return tuple(kpis.items())
    if kind == "measures":
        own = {m["key"]: f"{m.get('name_zh', '')} ({m['key']})" for m in theme.get("measures") or []
               if isinstance(m, dict) and isinstance(m.get("key"), str)}
        return (*kpis.items(), *own.items(), *((k, f"{zh} ({k})") for k, (zh, _) in builtin_measures().items()))
    if kind == "regions":
        city = city or default_city()
        return ((city.adcode, f"全市 ({city.adcode})"), *((a, f"{names.get(a, a)} ({a})") for a in city.counties))
    if kind in ("feeds", "devices"):
        registry = feeds or feeds_in(None)
        shown = registry.names() if kind == "feeds" else registry.devices()
        return tuple((name, f"{registry[name].title_zh} ({name})") for name in shown)
    return ()


def field_specs(model: type[BaseModel], theme: Mapping[str, Any], names: Mapping[str, str],
                city: City | None = None, feeds: FeedRegistry | None = None) -> list[FieldSpec]:
    """The form fields of a panel type's settings, from its JSON Schema."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    out = []
    for name, raw in schema.get("properties", {}).items():
        prop, _ = _resolve(raw, defs)
        label = raw.get("description") or prop.get("description") or prop.get("title") or name
        common = {"name": name, "label": label, "required": name in required, "default": raw.get("default"),
                  "minimum": prop.get("minimum"), "maximum": prop.get("maximum")}
        kind = prop.get("type")
        if prop.get("x-choices"):
            out.append(FieldSpec(widget="choice", options=choices(prop["x-choices"], theme, names, city, feeds), **common))
        elif "enum" in prop:
            out.append(FieldSpec(widget="choice", options=tuple((v, str(v)) for v in prop["enum"]), **common))
        elif kind == "array":
            items, _ = _resolve(prop.get("items", {}), defs)
            if items.get("x-choices"):
                opts = choices(items["x-choices"], theme, names, city, feeds)
            elif "enum" in items:
                opts = tuple((v, str(v)) for v in items["enum"])
            elif items.get("type") == "integer" and items.get("minimum") is not None and items.get("maximum") is not None:
                opts = tuple((v, str(v)) for v in range(int(items["minimum"]), int(items["maximum"]) + 1))
            else:
                opts = ()
            out.append(FieldSpec(widget="multi", options=opts, **common) if opts
                       else FieldSpec(widget="text", extra={"list": True}, **common))
        elif kind == "boolean":
            out.append(FieldSpec(widget="bool", options=((True, tx.pair("yes")), (False, tx.pair("no"))),
                                 **common))
        elif kind in ("integer", "number"):
            out.append(FieldSpec(widget=kind, **common))
        else:
            long = (prop.get("maxLength") or 0) > 200
            out.append(FieldSpec(widget="textarea" if long else "text", **common))
    return out


def _options(options: Sequence[tuple[Any, str]], value: Any) -> list[dict[str, Any]]:
    """Dropdown options; a value the file has but the list lacks is kept (marked), so drawing the form never
    changes the file: the check names the mistake with its line instead."""
    out = [{"label": label, "value": v} for v, label in options]
    known = {v for v, _ in options}
    for v in value if isinstance(value, list) else [value]:
        if v is not None and v not in known and isinstance(v, str | int | float | bool):
            out.append({"label": f"⚠ {v} (不可用 / not allowed)", "value": v})
    return out


def _input(i: int, spec: FieldSpec, value: Any, field_type: str = FIELD) -> Any:
    ident = {"type": field_type, "i": i, "f": spec.name}
    shown = value if value is not None else None
    placeholder = "" if spec.default in (None, [], "") else f"默认 default: {spec.default}"
    if spec.widget in ("choice", "bool", "multi"):
        return dcc.Dropdown(id=ident, options=_options(spec.options, shown), value=shown, multi=spec.widget == "multi", placeholder=placeholder or "—",
                            clearable=not spec.required, className="pf-input")
    if spec.widget in ("integer", "number"):
        return dcc.Input(id=ident, type="number", value=shown, min=spec.minimum, max=spec.maximum,
                         step=1 if spec.widget == "integer" else "any", placeholder=placeholder, debounce=True,
                         className="pf-input")
    if spec.widget == "textarea":
        return dcc.Textarea(id=ident, value=shown or "", placeholder=placeholder, className="pf-input pf-long")
    if spec.extra.get("list") and isinstance(shown, list):
        shown = ", ".join(str(v) for v in shown)
    return dcc.Input(id=ident, type="text", value=shown or "", placeholder=placeholder, debounce=True,
                     className="pf-input")


def _row(label: str, control: Any, required: bool = False, name: str | None = None) -> html.Label:
    """A labelled field: the description's first part (Chinese) and the setting's name show, all of it on hover."""
    short = label.split(" / ", 1)[0] + (f" · {name}" if name else "")
    return html.Label(className="pf-field", title=label, children=[
        html.Span(short + (" *" if required else ""), className="pf-label"), control])


def render_form(registry: PanelRegistry, theme: Mapping[str, Any], names: Mapping[str, str], lang: str,
                city: City | None = None, feeds: FeedRegistry | None = None) -> Any:
    """The panels of a theme's data as form rows (type, column, id, titles, then the type's own settings)."""
    panels = theme.get("panels")
    if not isinstance(panels, list):
        return html.Div(tx.pair("the_file_has_no_panels"), className="problem")
    types = [(p.name, f"{p.title_zh} · {p.title_en} ({p.name})") for p in registry]
    columns = [("left", tx.pair("left")), ("right", tx.pair("right"))]
    rows = []
    for i, panel in enumerate(panels):
        panel = panel if isinstance(panel, dict) else {}
        kind = panel.get("type")
        head = html.Div(className="pf-head", children=[
            html.B(f"#{i + 1}", className="pf-num"),
            dcc.Dropdown(id={"type": FIELD, "i": i, "f": "type"}, options=_options(types, kind), value=kind,
                         clearable=False, className="pf-input pf-type"),
            dcc.Dropdown(id={"type": FIELD, "i": i, "f": "column"}, value=panel.get("column", "left"),
                         options=_options(columns, panel.get("column", "left")), clearable=False,
                         className="pf-input pf-column"),
            html.Button("↑", id={"type": MOVE, "i": i, "d": -1}, title=tx.pair("up"), className="pf-btn"),
            html.Button("↓", id={"type": MOVE, "i": i, "d": 1}, title=tx.pair("down"), className="pf-btn"),
            html.Button("✕", id={"type": MOVE, "i": i, "d": 0}, title=tx.pair("remove"),
                        className="pf-btn pf-del"),
        ])
        common = [
            _row("标题 title_zh", dcc.Input(id={"type": FIELD, "i": i, "f": "title_zh"}, value=panel.get("title_zh") or "",
                                          debounce=True, className="pf-input")),
            _row("English title_en", dcc.Input(id={"type": FIELD, "i": i, "f": "title_en"},
                                               value=panel.get("title_en") or "", debounce=True, className="pf-input")),
            _row("编号 id", dcc.Input(id={"type": FIELD, "i": i, "f": "id"}, value=panel.get("id") or "",
                                    debounce=True, className="pf-input")),
        ]
        own = []
        if kind in registry:
            own = [_row(spec.label, _input(i, spec, panel.get(spec.name)), spec.required, spec.name)
                   for spec in field_specs(registry[kind].settings, theme, names, city, feeds)]
        rows.append(html.Fieldset(className="pf-panel", children=[
            head, html.Div(common + own, className="pf-fields")]))
    add = html.Div(className="pf-add", children=[
        dcc.Dropdown(id=ADD_TYPE, options=_options(types, None), placeholder=tx.pair("new_panel_type"),
                     className="pf-input pf-type"),
        html.Button(tx.pair("add_panel"), id=ADD_GO, n_clicks=0)])
    return [*rows, add]


def render_rules(models: Mapping[str, type[BaseModel]], theme: Mapping[str, Any], names: Mapping[str, str],
                 city: City | None = None, feeds: FeedRegistry | None = None) -> Any:
    """The rules of a theme's data as form rows (kind, id, then the kind's own settings), from their models."""
    rules = theme.get("rules", [])
    if not isinstance(rules, list):
        return html.Div(tx.pair("the_file_s_rules_is"), className="problem")
    kinds = [(k, k) for k in sorted(models)]
    rows = []
    for i, rule in enumerate(rules):
        rule = rule if isinstance(rule, dict) else {}
        kind = rule.get("kind")
        head = html.Div(className="pf-head", children=[
            html.B(f"#{i + 1}", className="pf-num"),
            dcc.Dropdown(id={"type": RFIELD, "i": i, "f": "kind"}, options=_options(kinds, kind), value=kind,
                         clearable=False, className="pf-input pf-kind"),
            dcc.Input(id={"type": RFIELD, "i": i, "f": "id"}, value=rule.get("id") or "", debounce=True,
                      placeholder="编号 id", className="pf-input pf-column"),
            html.Button("↑", id={"type": RMOVE, "i": i, "d": -1}, title=tx.pair("up"), className="pf-btn"),
            html.Button("↓", id={"type": RMOVE, "i": i, "d": 1}, title=tx.pair("down"), className="pf-btn"),
            html.Button("✕", id={"type": RMOVE, "i": i, "d": 0}, title=tx.pair("remove"),
                        className="pf-btn pf-del"),
        ])
        own = []
        if kind in models:
            own = [_row(spec.label, _input(i, spec, rule.get(spec.name), RFIELD), spec.required, spec.name)
                   for spec in field_specs(models[kind], theme, names, city, feeds) if spec.name not in RULE_FIELDS]
        rows.append(html.Fieldset(className="pf-panel", children=[head, html.Div(own, className="pf-fields")]))
    add = html.Div(className="pf-add", children=[
        dcc.Dropdown(id=RADD_KIND, options=_options(kinds, None), placeholder=tx.pair("new_rule_kind"),
                     className="pf-input pf-type"),
        html.Button(tx.pair("add_rule"), id=RADD_GO, n_clicks=0)])
    return [*rows, add]


def rules_from_fields(ids: Sequence[Mapping[str, Any]], values: Sequence[Any], models: Mapping[str, type[BaseModel]],
                      theme: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rules list the form's fields describe, in form order; a kind change drops the old kind's settings."""
    out = []
    for row in _rows_of(ids, values):
        kind = row.get("kind")
        rule: dict[str, Any] = {"id": row.get("id") or "", "kind": kind}
        out.append({**rule, **_settings_of(row, models.get(kind or ""), theme, RULE_FIELDS)})
    return out


def _rows_of(ids: Sequence[Mapping[str, Any]], values: Sequence[Any]) -> list[dict[str, Any]]:
    """The form's field values grouped by row (the `i` of their ids), in row order."""
    rows: dict[int, dict[str, Any]] = {}
    for ident, value in zip(ids, values, strict=True):
        rows.setdefault(int(ident["i"]), {})[ident["f"]] = value
    return [rows[i] for i in sorted(rows)]


def _settings_of(row: Mapping[str, Any], model: type[BaseModel] | None, theme: Mapping[str, Any],
                 fixed: Sequence[str]) -> dict[str, Any]:
    """A row's values for its model's settings, as the file holds them (defaults left out)."""
    if model is None:
        return {}
    specs = {spec.name: spec for spec in field_specs(model, theme, {})}
    out = {}
    for name, value in row.items():
        if name in fixed or name not in specs:
            continue
        value = _coerce(specs[name], value)
        if value is not None:
            out[name] = value
    return out


def long_fields(registry: PanelRegistry) -> set[str]:
    """Settings drawn as a text box (typed at length): the preview waits for them rather than redrawing per key."""
    return long_fields_of({panel.name: panel.settings for panel in registry})


def long_fields_of(models: Mapping[str, type[BaseModel]]) -> set[str]:
    """The text-box settings of some settings models."""
    return {spec.name for model in models.values() for spec in field_specs(model, {}, {}) if spec.widget == "textarea"}


def _coerce(spec: FieldSpec | None, value: Any) -> Any:
    """A form value as the file should hold it; None to leave the setting out (its default applies)."""
    if value is None or value == "" or value == []:
        return None
    if spec is not None and spec.extra.get("list") and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if spec is not None and spec.widget == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def panels_from_fields(ids: Sequence[Mapping[str, Any]], values: Sequence[Any], registry: PanelRegistry,
                       theme: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The panels list the form's fields describe, in form order; a type change drops the old type's settings."""
    out = []
    for row in _rows_of(ids, values):
        kind = row.get("type")
        panel: dict[str, Any] = {"type": kind, "column": row.get("column") or "left"}
        for key in ("id", "title_zh", "title_en"):
            if _coerce(None, row.get(key)) is not None:
                panel[key] = row[key]
        model = registry[kind].settings if kind in registry else None
        out.append({**panel, **_settings_of(row, model, theme, ROW_FIELDS)})
    return out


def move(panels: list[dict[str, Any]], i: int, d: int) -> list[dict[str, Any]]:
    """The panels with #i moved up (d=-1) or down (d=1) one place, or removed (d=0)."""
    out = list(panels)
    if not 0 <= i < len(out):
        return out
    if d == 0:
        del out[i]
    elif 0 <= i + d < len(out):
        out[i], out[i + d] = out[i + d], out[i]
    return out


def dump_block(key: str, items: Sequence[Mapping[str, Any]]) -> str:
    """A top-level list (`panels:`, `rules:`) as the theme files write it."""
    if not items:
        return f"{key}: []\n"
    body = yaml.safe_dump(list(items), allow_unicode=True, sort_keys=False, default_flow_style=False, width=100)
    return f"{key}:\n" + body


def replace_block(text: str, key: str, items: Sequence[Mapping[str, Any]]) -> str:
    """The file's text with only its top-level `key:` list rewritten (appended when it has none)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    block = dump_block(key, items)
    if isinstance(root, yaml.MappingNode):
        for k, value in root.value:
            if getattr(k, "value", None) == key:
                lines = text.splitlines(keepends=True)
                start = k.start_mark.line
                end = value.end_mark.line if value.end_mark.column == 0 else value.end_mark.line + 1
                # A block sequence ends where the next key starts: comments and blank lines before it belong there.
                while end > start + 1 and (lines[end - 1].strip() == "" or lines[end - 1].startswith("#")):
                    end -= 1
                return "".join(lines[:start]) + block + "".join(lines[end:])
    return text.rstrip("\n") + "\n" + block


def replace_panels(text: str, panels: Sequence[Mapping[str, Any]]) -> str:
    """The file's text with only its `panels:` block rewritten."""
    return replace_block(text, "panels", panels)


def side_by_side(old: str, new: str, context: int = 2) -> html.Table:
    """Two versions of a file side by side: changed lines marked, unchanged ones folded to a little context."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Any] = []

    def line(n: int | None, text: str, cls: str) -> list[Any]:
        return [html.Td("" if n is None else str(n + 1), className="df-n"), html.Td(text, className=f"df-t {cls}")]

    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        rows.append(html.Tr(html.Td("⋯", colSpan=4, className="df-fold")))
        for tag, i1, i2, j1, j2 in group:
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                left = line(i, a[i], "df-del" if tag != "equal" else "") if i < i2 else line(None, "", "df-none")
                right = line(j, b[j], "df-ins" if tag != "equal" else "") if j < j2 else line(None, "", "df-none")
                rows.append(html.Tr([*left, *right], className=f"df-{tag}"))
    if not rows:
        rows = [html.Tr(html.Td(tx.pair("no_difference"), colSpan=4, className="df-fold"))]
    cols = html.Colgroup([html.Col(className="df-c-n"), html.Col(), html.Col(className="df-c-n"), html.Col()])
    return html.Table([cols, html.Tbody(rows)], className="df-table", id="admin-diff-table")
