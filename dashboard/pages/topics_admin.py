"""The theme editor (/admin/topics): sign in, pick one of your themes, edit its file, preview it on live data,
save a version, look at the versions and roll back. Every callback checks the session's user at the server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from dash import ALL, Dash, Input, Output, State, callback_context, dcc, html, no_update
from flask import session
from sqlalchemy.orm import Session

from dashboard import auth
from dashboard.admin import editable_keys, file_text, may_edit, save_theme
from dashboard.admin import sign_in as check_sign_in
from dashboard.context import AppContext
from dashboard.pages import topics_form as tf
from dashboard.pages.common import header
from dashboard.pages.wall import render_panels, title_of
from store import admin_queries as aq
from topics.loader import KEY, split_key
from words import Words

tx = Words("pages.topics_admin")  # this module's words in the catalog (words/locale)

PATH = "/admin/topics"
LOGIN_USER, LOGIN_PASS, LOGIN_GO, LOGIN_MSG = "admin-user", "admin-pass", "admin-login", "admin-login-msg"
PICK, EDITOR, PREVIEW_GO, SAVE_GO, NOTE, RESULT, PREVIEW, VERSIONS, CSRF = (
    "admin-theme", "admin-text", "admin-preview-go", "admin-save-go", "admin-note", "admin-result", "admin-preview",
    "admin-versions", "admin-csrf")
ROLLBACK_TO, ROLLBACK_GO = "admin-rollback-to", "admin-rollback-go"
DIFF_GO, DIFF_OUT = "admin-diff-go", "admin-diff"
AUDIT_GO, AUDIT_OUT = "admin-audit-go", "admin-audit"
BASE = "admin-base-version"  # the version the edit started from: a save is refused (409) if another came since
FORM_REV = "admin-form-rev"  # counts the form's edits: each redraws the preview


@dataclass(frozen=True)
class FormSpec:
    """A form over one top-level list of a theme file (panels, rules): its key, ids, and how to read and draw it."""

    key: str
    move: str
    add: str
    kind_field: str
    read: Callable[[list[dict[str, Any]], list[Any], dict[str, Any]], list[dict[str, Any]]]
    draw: Callable[[dict[str, Any]], Any]


def _user() -> dict[str, Any] | None:
    return session.get("user")


def _problems(errors: list[Any]) -> html.Ul:
    return html.Ul([html.Li(str(e), className="problem") for e in errors], className="problems", id="admin-problems")


def newest_version(ctx: AppContext, key: str) -> int:
    """The theme's newest saved version (0: never saved here)."""
    with Session(ctx.engine) as s:
        rows = aq.theme_versions(s, key)
    return rows[0].version if rows else 0


def _versions(ctx: AppContext, key: str) -> list[Any]:
    with Session(ctx.engine) as s:
        rows = aq.theme_versions(s, key)
    return [html.Li(f"v{v.version} · {v.author} · {v.created_at.astimezone(ctx.now().tzinfo):%Y-%m-%d %H:%M}"
                    + (f" · {v.note}" if v.note else ""), className="version") for v in rows]


def county_of(key: str | None) -> str | None:
    """The county of an override's key (social@<adcode> → the adcode); None for a city theme's."""
    return split_key(key)[1] if key and KEY.fullmatch(key) else None


def form_data(ctx: AppContext, data: dict[str, Any], key: str | None) -> dict[str, Any]:
    """A file's data as the forms read it: an override's with its city theme's KPIs and measures beside it (what a
    panel setting may name), a theme's as it is."""
    if county_of(key) is None or key is None:
        return data
    th = ctx.theme(split_key(key)[0])
    return {"kpis": [k.model_dump() for k in th.kpis], "measures": [m.model_dump() for m in th.measures], **data}


def preview(ctx: AppContext, text: str, key: str, lang: str) -> Any:
    """The theme's panels rendered from the edited text on the store's data now (an override's: the county's wall,
    on the county's data), or its problems."""
    theme, errors = ctx.topics.check(key, text)
    if theme is None:
        return _problems(errors)
    placed = [p for p in theme.placed() if p.type in ctx.registries.panels]
    bodies, metas, _ = render_panels(ctx, placed, lang, county_of(key), theme.key, theme)
    cards = [html.Section(className="panel preview-panel", children=[
        html.Header(className="panel-head", children=[
            html.H2(title_of(ctx, p, lang)), html.Div(m, className="panel-meta")]),
        html.Div(b, className=f"panel-body {p.type}-body")]) for p, b, m in zip(placed, bodies, metas, strict=True)]
    return [html.H3(f"{theme.name_zh} · {theme.owner}", id="admin-preview-title"),
            html.Div(cards, className="preview-grid")]


def form_for(ctx: AppContext, text: str, lang: str, key: str | None = None) -> Any:
    """The panel form of a file's text, or why the text cannot be shown as a form."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        return html.Div(tx.pair("fix_the_file_text_first"), className="problem")
    return tf.render_form(ctx.registries.panels, form_data(ctx, data, key), ctx.names, lang, ctx.city,
                          ctx.registries.feeds)


def rules_form_for(ctx: AppContext, text: str, key: str | None = None) -> Any:
    """The rules form of a file's text (empty when the text is not a theme file: the panel form says why); an
    override has no rules of its own (the city theme's apply), so its form only says so."""
    if county_of(key) is not None:
        hidden = tf.render_rules(ctx.registries.rules.schemas(), {"rules": []}, ctx.names, ctx.city,
                                 ctx.registries.feeds)
        return [html.P("区县覆盖文件没有自己的告警规则：沿用全市主题的规则 / an override has no rules of its own: the "
                       "city theme's apply", className="admin-note"), html.Div(hidden, hidden=True)]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    return (tf.render_rules(ctx.registries.rules.schemas(), data, ctx.names, ctx.city, ctx.registries.feeds)
            if isinstance(data, dict) else [])


def measures_table(ctx: AppContext, lang: str) -> html.Table:
    """The measures a theme may name: each one's key (and older names), label, unit, kind and rule. A derived one
    is computed here from the raw data and may not arrive as a KPI; any other KPI key is reported by a system."""
    head = tuple(tx.pair(h) for h in ("key", "name", "unit", "kind", "how", "city"))
    rows = []
    for m in ctx.registries.measures.all():
        kind = tx.pair("derived") if m.kind == "derived" else tx.pair("reported")
        aliases = ctx.registries.measures.aliases(m.key)
        rows.append(html.Tr([
            html.Td([html.Code(m.key), *([html.Span(" (" + ", ".join(aliases) + ")")] if aliases else [])]),
            html.Td(f"{m.label_zh} / {m.label_en}"), html.Td(m.unit or "—"), html.Td(kind),
            html.Td(m.source), html.Td(m.city_rule)], className="admin-measure", **{"data-key": m.key}))
    rows.append(html.Tr(html.Td("其他指标键：业务系统经 KPI 数据源上报（主题文件 kpis:） / Any other key: a KPI a "
                                "business system reports through the KPI feed (the file's kpis:)", colSpan=6)))
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                      className="admin-measures")


def layout(ctx: AppContext, lang: str) -> html.Div:
    """Sign-in form, or the editor for the signed-in user's themes."""
    user = _user()
    if user is None:
        body: Any = html.Div(className="panel admin-login", children=[
            html.H2(tx("sign_in_title", lang)),
            dcc.Input(id=LOGIN_USER, placeholder=tx.pair("user"), autoComplete="username"),
            dcc.Input(id=LOGIN_PASS, type="password", placeholder=tx.pair("password"),
                      autoComplete="current-password"),
            html.Button(tx.pair("sign_in"), id=LOGIN_GO, n_clicks=0),
            html.Div(id=LOGIN_MSG, className="problem")])
    else:
        themes, overrides = editable_keys(ctx, user)
        keys = [*themes, *overrides]
        first = keys[0] if keys else None
        text = file_text(ctx, first) if first else ""
        body = html.Div(className="admin-grid", children=[
            html.Div(className="panel admin-edit", children=[
                html.Div(className="admin-bar", children=[
                    html.Span(f"{user['username']} · {user['role']}", id="admin-who"),
                    dcc.Dropdown(id=PICK, options=[{"label": pick_label(ctx, k), "value": k} for k in keys],
                                 value=first, clearable=False,
                                 className="admin-pick"),
                    html.Button(tx.pair("preview"), id=PREVIEW_GO, n_clicks=0),
                    dcc.Input(id=NOTE, placeholder=tx.pair("note")),
                    html.Button(tx.pair("save"), id=SAVE_GO, n_clicks=0)]),
                html.Div(id=RESULT, className="admin-result"),
                html.Div(form_for(ctx, text, lang, first), id=tf.FORM, className="admin-form"),
                html.Details(className="admin-text-box", children=[
                    html.Summary(tx.pair("alarm_rules")),
                    html.Div(rules_form_for(ctx, text, first), id=tf.RULES_FORM, className="admin-rules")]),
                html.Details(className="admin-text-box", children=[
                    html.Summary(tx.pair("measures")),
                    measures_table(ctx, lang)]),
                html.Details(className="admin-text-box", children=[
                    html.Summary(tx.pair("file_text")),
                    dcc.Textarea(id=EDITOR, value=text, className="admin-text", spellCheck=False)]),
                html.Div(className="admin-versions", children=[
                    html.H3(tx.pair("versions")),
                    html.Ul(_versions(ctx, first) if first else [], id=VERSIONS),
                    dcc.Input(id=ROLLBACK_TO, type="number", min=1, placeholder="v"),
                    html.Button(tx.pair("diff"), id=DIFF_GO, n_clicks=0),
                    html.Button(tx.pair("roll_back"), id=ROLLBACK_GO, n_clicks=0)]),
                html.Div(id=DIFF_OUT, className="admin-diff"),
                html.Div(className="admin-versions", children=[
                    html.Button(tx.pair("audit_log"), id=AUDIT_GO, n_clicks=0)]),
                html.Div(id=AUDIT_OUT, className="admin-diff"),
            ]),
            html.Div(preview(ctx, text, first, lang) if first else [], id=PREVIEW, className="panel admin-preview"),
            dcc.Store(id=CSRF, data=auth.csrf_token(session)),
            dcc.Store(id=FORM_REV, data=0),
            dcc.Store(id=BASE, data=newest_version(ctx, first) if first else 0),
        ])
    return html.Div(className="wall admin", children=[header(ctx, PATH, lang, None), body])


def pick_label(ctx: AppContext, key: str) -> str:
    """A file in the editor's list: the theme (and the county of an override, marked new when not written yet)."""
    theme_key, county = split_key(key)
    name = ctx.theme(theme_key).name_zh
    if county is None:
        return f"{name} ({key})"
    new = "" if ctx.topics.path(key).exists() else " · 新建 / new"
    return f"{name} · {ctx.county_name(county, 'zh')} ({key}){new}"


def register(app: Dash, ctx: AppContext) -> None:
    """Sign-in, load, preview, save and rollback; each checks the user at the server."""

    @app.callback(Output(LOGIN_MSG, "children"), Output("url", "pathname", allow_duplicate=True),
                  Input(LOGIN_GO, "n_clicks"), State(LOGIN_USER, "value"), State(LOGIN_PASS, "value"),
                  prevent_initial_call=True)
    def sign_in_form(_n: int, username: str | None, password: str | None) -> tuple[Any, Any]:
        done = check_sign_in(ctx, username or "", password or "", "editor")
        if done.user is None:
            return done.message, no_update
        # Navigating to the same path makes the router draw the editor for the signed-in user.
        return "", f"{PATH}/"

    @app.callback(Output(EDITOR, "value"), Output(VERSIONS, "children"), Output(BASE, "data"),
                  Input(PICK, "value"), prevent_initial_call=True)
    def load(key: str | None) -> tuple[Any, Any, Any]:
        user = _user()
        if user is None or not key or not may_edit(user, key):
            return no_update, no_update, no_update
        return file_text(ctx, key), _versions(ctx, key), newest_version(ctx, key)

    # The preview follows the form as it is edited, and the text when it loses focus (not at every keystroke).
    @app.callback(Output(PREVIEW, "children"), Input(PREVIEW_GO, "n_clicks"), Input(FORM_REV, "data"),
                  Input(EDITOR, "n_blur"), State(EDITOR, "value"), State(PICK, "value"), prevent_initial_call=True)
    def show(_n: int, _rev: int, _blur: int, text: str | None, key: str | None) -> Any:
        user = _user()
        if user is None or not key or not may_edit(user, key):
            return html.Div("403", className="problem")
        return preview(ctx, text or "", key, "zh")

    def write(key: str | None, text: str, csrf: str | None, action: str, note: str | None,
              base: int | None) -> tuple[Any, Any, Any]:
        """Save (or roll back) from the version the edit started from; the new version is the next edit's base."""
        user = _user()
        if user is None or not auth.csrf_ok(session, csrf):
            return html.Div(tx.pair("sign_in_again"), className="problem"), no_update, no_update
        if not key or not may_edit(user, key):
            with Session(ctx.engine) as s, s.begin():
                aq.audit(s, ctx.now(), user["username"], action, f"theme:{key}", "not this user's theme",
                         allowed=False)
            return html.Div(f"403: {user['username']} may not change {key}", className="problem"), no_update, \
                no_update
        saved = save_theme(ctx, user["username"], key, text, action, note, base)
        if saved.version is None:
            if saved.conflict:
                return html.Div(f"他人已保存新版本，请重新载入后再改 / {saved.refusal}", className="problem conflict"), \
                    _versions(ctx, key), no_update
            return (_problems(saved.errors) if saved.errors else html.Div(saved.refusal, className="problem")), \
                no_update, no_update
        stamp = ctx.now().strftime("%H:%M:%S")
        return html.Div(f"已保存 v{saved.version} · saved v{saved.version} · {stamp}", className="saved",
                        id="admin-saved"), _versions(ctx, key), saved.version

    @app.callback(Output(RESULT, "children"), Output(VERSIONS, "children", allow_duplicate=True),
                  Output(BASE, "data", allow_duplicate=True),
                  Input(SAVE_GO, "n_clicks"), State(EDITOR, "value"), State(PICK, "value"), State(CSRF, "data"),
                  State(NOTE, "value"), State(BASE, "data"), prevent_initial_call=True)
    def save(_n: int, text: str | None, key: str | None, csrf: str | None, note: str | None,
             base: int | None) -> tuple[Any, Any, Any]:
        return write(key, text or "", csrf, "save", note, base)

    @app.callback(Output(RESULT, "children", allow_duplicate=True), Output(VERSIONS, "children", allow_duplicate=True),
                  Output(EDITOR, "value", allow_duplicate=True), Output(BASE, "data", allow_duplicate=True),
                  Input(ROLLBACK_GO, "n_clicks"), State(ROLLBACK_TO, "value"), State(PICK, "value"),
                  State(CSRF, "data"), State(BASE, "data"), prevent_initial_call=True)
    def roll_back(_n: int, version: int | None, key: str | None, csrf: str | None,
                  base: int | None) -> tuple[Any, Any, Any, Any]:
        with Session(ctx.engine) as s:
            row = aq.theme_version(s, key or "", int(version or 0))
            text = row.text if row else None
        if text is None:
            return (html.Div(f"没有版本 v{version} / no such version", className="problem"), no_update, no_update,
                    no_update)
        result, versions, saved = write(key, text, csrf, "rollback", f"rollback to version {version}", base)
        return result, versions, text if saved is not no_update else no_update, saved

    typed_at_length = tf.long_fields(ctx.registries.panels) | tf.long_fields_of(ctx.registries.rules.schemas())

    @app.callback(Output(EDITOR, "value", allow_duplicate=True), Output(tf.FORM, "children"),
                  Output(FORM_REV, "data"), Input(EDITOR, "value"), Input({"type": tf.FIELD, "i": ALL, "f": ALL}, "value"),
                  Input({"type": tf.MOVE, "i": ALL, "d": ALL}, "n_clicks"), Input(tf.ADD_GO, "n_clicks"),
                  State({"type": tf.FIELD, "i": ALL, "f": ALL}, "id"), State(tf.ADD_TYPE, "value"),
                  State(FORM_REV, "data"), State(PICK, "value"), prevent_initial_call=True)
    def form_sync(text: str | None, values: list[Any], _moves: list[Any], _add: int, field_ids: list[dict[str, Any]],
                  add_type: str | None, rev: int | None, key: str | None) -> tuple[Any, Any, Any]:
        def new_panel(items: list[dict[str, Any]]) -> dict[str, Any]:
            return {"type": add_type, "column": "left"}

        return form_sync_step(text, values, field_ids, bool(add_type), rev, panels_form(key), new_panel,
                              lambda: form_for(ctx, text or "", "zh", key))

    @app.callback(Output(DIFF_OUT, "children"), Input(DIFF_GO, "n_clicks"), State(ROLLBACK_TO, "value"),
                  State(EDITOR, "value"), State(PICK, "value"), prevent_initial_call=True)
    def diff(_n: int, version: int | None, text: str | None, key: str | None) -> Any:
        user = _user()
        if user is None or not key or not may_edit(user, key):
            return html.Div("403", className="problem")
        if version:  # a saved version; without one, the file the wall shows now
            with Session(ctx.engine) as s:
                row = aq.theme_version(s, key, int(version))
                old = row.text if row else None
            label = f"v{int(version)}"
        else:
            path = ctx.topics.path(key)
            old, label = (path.read_text(encoding="utf-8") if path.exists() else ""), "墙上现用 / on the wall"
        if old is None:
            return html.Div(f"没有版本 v{version} / no such version", className="problem")
        return [html.H3(f"{label} ⟷ 编辑中 / being edited", className="df-title"), tf.side_by_side(old, text or "")]

    @app.callback(Output(AUDIT_OUT, "children"), Input(AUDIT_GO, "n_clicks"), prevent_initial_call=True)
    def audit_log(_n: int) -> Any:
        user = _user()
        if user is None:
            return html.Div(tx.pair("sign_in_again"), className="problem")
        # An admin reads every entry; an owner those about their own themes (who changed them, who tried).
        # A county user reads those about their counties' overrides.
        themes, overrides = editable_keys(ctx, user)
        targets = (None if user["role"] == "admin" and not user.get("counties")
                   else [f"theme:{k}" for k in (*themes, *overrides)])
        with Session(ctx.engine) as s:
            rows = aq.audit_entries(s, 100, targets)
        tz = ctx.now().tzinfo
        return html.Table(className="df-table audit-table", id="admin-audit-table", children=[
            html.Thead(html.Tr([html.Th(tx.pair(h) if h else "")
                                for h in ("at", "user_2", "action", "target", "detail", "")])),
            html.Tbody([html.Tr(className="" if e.allowed else "df-del", children=[
                html.Td(f"{e.at.astimezone(tz):%m-%d %H:%M:%S}"), html.Td(e.username), html.Td(e.action),
                html.Td(e.target), html.Td(e.detail or ""), html.Td("" if e.allowed else tx.pair("refused"))])
                for e in rows])])

    @app.callback(Output(EDITOR, "value", allow_duplicate=True), Output(tf.RULES_FORM, "children"),
                  Output(FORM_REV, "data", allow_duplicate=True), Input(EDITOR, "value"),
                  Input({"type": tf.RFIELD, "i": ALL, "f": ALL}, "value"),
                  Input({"type": tf.RMOVE, "i": ALL, "d": ALL}, "n_clicks"), Input(tf.RADD_GO, "n_clicks"),
                  State({"type": tf.RFIELD, "i": ALL, "f": ALL}, "id"), State(tf.RADD_KIND, "value"),
                  State(FORM_REV, "data"), State(PICK, "value"), prevent_initial_call=True)
    def rules_sync(text: str | None, values: list[Any], _moves: list[Any], _add: int,
                   field_ids: list[dict[str, Any]], add_kind: str | None, rev: int | None,
                   key: str | None) -> tuple[Any, Any, Any]:
        """The rules form and the file's `rules:` block kept in step, as the panel form does for `panels:`."""

        def new_rule(items: list[dict[str, Any]]) -> dict[str, Any]:
            taken = {r.get("id") for r in items}
            n = 1 + sum(1 for r in items if r.get("kind") == add_kind)
            while f"{add_kind}-{n}".replace("_", "-") in taken:
                n += 1
            return {"id": f"{add_kind}-{n}".replace("_", "-"), "kind": add_kind}

        return form_sync_step(text, values, field_ids, bool(add_kind), rev, RULES_FORM_SPEC, new_rule,
                              lambda: rules_form_for(ctx, text or "", key))

    def form_sync_step(text: str | None, values: list[Any], field_ids: list[dict[str, Any]], can_add: bool,
                       rev: int | None, spec: FormSpec, new_item: Callable[[list[dict[str, Any]]], dict[str, Any]],
                       redraw_from_text: Callable[[], Any]) -> tuple[Any, Any, Any]:
        """One step of keeping a form and its block of the file in step: the text changed (redraw the form from
        it), or a field, a move or an add did (write the block back; redraw the form when its rows change)."""
        unchanged = (no_update, no_update, no_update)
        if _user() is None:
            return unchanged
        text = text or ""
        trigger = callback_context.triggered_id
        if trigger == EDITOR or trigger is None:  # the text changed (typed, loaded, rolled back): redraw the form
            return no_update, redraw_from_text(), no_update
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return unchanged
        if not isinstance(data, dict):
            return unchanged
        items = spec.read(field_ids, values, data)
        redraw = False
        if isinstance(trigger, dict) and trigger.get("type") == spec.move:
            if not callback_context.triggered[0].get("value"):
                return unchanged  # a button drawn anew, not clicked
            items, redraw = tf.move(items, int(trigger["i"]), int(trigger["d"])), True
        elif trigger == spec.add:
            if not can_add:
                return unchanged
            items, redraw = [*items, new_item(items)], True
        elif isinstance(trigger, dict) and trigger.get("f") == spec.kind_field:
            redraw = True  # a new type or kind has other settings
        new = tf.replace_block(text, spec.key, items)
        if new == text and not redraw:
            return unchanged
        data[spec.key] = items
        typing = isinstance(trigger, dict) and trigger.get("f") in typed_at_length
        return (new if new != text else no_update), (spec.draw(data) if redraw else no_update), \
            no_update if typing else (rev or 0) + 1

    # What differs between the panel form and the rules form.
    def panels_form(key: str | None) -> FormSpec:
        """The panel form of a file (an override's choices are its city theme's KPIs and measures)."""
        return FormSpec("panels", tf.MOVE, tf.ADD_GO, "type",
                        lambda ids, vals, data: tf.panels_from_fields(ids, vals, ctx.registries.panels,
                                                                      form_data(ctx, data, key)),
                        lambda data: tf.render_form(ctx.registries.panels, form_data(ctx, data, key), ctx.names, "zh",
                                                    ctx.city, ctx.registries.feeds))

    RULES_FORM_SPEC = FormSpec("rules", tf.RMOVE, tf.RADD_GO, "kind",
                               lambda ids, vals, data: tf.rules_from_fields(ids, vals, ctx.registries.rules.schemas(),
                                                                            data),
                               lambda data: tf.render_rules(ctx.registries.rules.schemas(), data, ctx.names, ctx.city,
                                                            ctx.registries.feeds))
