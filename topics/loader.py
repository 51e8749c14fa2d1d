"""Theme files (YAML) → Theme models: migrations of older schema versions, errors a theme owner can act on
(file, line, field, in words), and a store that reloads changed files and keeps the last good version."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from topics.themes import SCHEMA_VERSION, Configured, CountyOverride, Theme

BUILTIN_DIR = Path(__file__).with_name("themes")
COUNTIES_DIR = "counties"  # beside the theme files: counties/<adcode>/<theme key>.yaml, a county's override
# A key the editor and the admin API name: a theme (`social`) or a county's override of it (`social@<adcode>`).
KEY = re.compile(r"^(?P<theme>[a-z][a-z0-9_]{1,31})(?:@(?P<county>\d{6}))?$")


def split_key(key: str) -> tuple[str, str | None]:
    """A key's theme and county (None for the city's theme file); ValueError for anything else."""
    m = KEY.fullmatch(key)
    if m is None:
        raise ValueError(f"{key!r} names neither a theme nor a county's override of one (theme@adcode)")
    return m["theme"], m["county"]


def override_key(theme_key: str, county: str) -> str:
    """The key of a county's override of a theme."""
    return f"{theme_key}@{county}"


def override_file(theme_key: str, county: str) -> str:
    """An override's file, relative to the theme directory (how its errors name it)."""
    return f"{COUNTIES_DIR}/{county}/{theme_key}.yaml"


def key_of_file(file: str) -> str:
    """The key a file name of the store's errors belongs to (social.yaml → social, counties/<adcode>/social.yaml →
    social@<adcode>)."""
    parts = file.removesuffix(".yaml").split("/")
    return override_key(parts[2], parts[1]) if len(parts) == 3 and parts[0] == COUNTIES_DIR else parts[-1]


@dataclass(frozen=True)
class TopicError:
    """Why a theme file was refused, and where."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 listed panel types in two lists, `left` and `right`; version 2 has `panels` with a column."""
    out = {k: v for k, v in data.items() if k not in ("left", "right")}
    out["panels"] = [{"type": t, "column": column} for column in ("left", "right") for t in data.get(column) or []]
    out["schema_version"] = 2
    return out


# from version → the function that lifts a file's data one version up
MIGRATIONS: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}

# Pydantic's words for the usual mistakes, in a theme owner's terms.
PLAIN = {
    "missing": "is required but missing",
    "extra_forbidden": "is not a field a theme has (check the spelling; docs/panels.md lists them)",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "has characters it may not have (lower-case letters, digits, _ and . only)",
    "float_parsing": "must be a number",
    "int_parsing": "must be a whole number",
    "string_type": "must be text",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list (one '- item' per line)",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "string_too_long": "is too long (at most {max_length} characters)",
    "string_too_short": "must not be empty",
    "too_long": "has too many items (at most {max_length})",
    "too_short": "has too few items (at least {min_length})",
    "enum": "must be one of {expected}",
}
OVERRIDE_EXTRA = ("is not a field a county override has: it sets panels and owner only; KPIs, targets, rules and "
                  "measures stay the city theme's (docs/admin.md)")


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """The file's data lifted to the current schema version (a missing version is read as the current one)."""
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version < 1 or version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r} is not one this app reads (1 to {SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node a validation error's location points at (its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _field(loc: tuple[Any, ...]) -> str | None:
    """A location as a theme owner reads it: kpis[2].target."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _words(err: ErrorDetails) -> str:
    """A pydantic error in a theme owner's words."""
    words = PLAIN.get(err["type"], err["msg"])
    if err["type"] in PLAIN:
        words = words.format_map({"expected": "the listed values", **(err.get("ctx") or {})})
    if err["type"] == "value_error":
        words = str((err.get("ctx") or {}).get("error", err["msg"]))
    return words


def _checked(items: Sequence[Configured], where: str, key: str, schemas: Mapping[str, type[BaseModel]],
             theme: Theme, root: yaml.Node | None, file: str, what: str,
             context: Mapping[str, Any] | None = None) -> list[TopicError]:
    """Each item's settings checked by the model its `key` (type or kind) names, given the theme; each item
    keeps what its model read (`Configured.checked`), which the wall and the alert engine use as it is."""
    errors = []
    for i, item in enumerate(items):
        name = getattr(item, key)
        model = schemas.get(name)
        if model is None:
            errors.append(TopicError(file, _line_of(root, (where, i, key)), f"{where}[{i}].{key}",
                                     f"{name!r} is not a {what} of this wall (docs/panels.md lists them: "
                                     f"{', '.join(sorted(schemas))})"))
            continue
        try:
            checked = model.model_validate(item.settings, context={**(context or {}), "theme": theme})
            item.keep_checked(checked)
        except ValidationError as e:
            for err in e.errors():
                loc = (where, i, *err["loc"])
                words = (f"is not a setting of {what} {name} (docs/panels.md lists its settings)"
                         if err["type"] == "extra_forbidden" else _words(err))
                errors.append(TopicError(file, _line_of(root, loc), _field(loc), words))
    return errors


def _settings_errors(theme: Theme, schemas: Mapping[str, type[BaseModel]], root: yaml.Node | None,
                     file: str, rule_schemas: Mapping[str, type[BaseModel]] | None = None,
                     context: Mapping[str, Any] | None = None) -> list[TopicError]:
    """Each panel's settings checked by its type's model, each rule's by its kind's."""
    errors = _checked(theme.panels, "panels", "type", schemas, theme, root, file, "panel type", context)
    if rule_schemas is not None:
        errors += _checked(theme.rules, "rules", "kind", rule_schemas, theme, root, file, "rule kind", context)
    return errors


def _measure_errors(theme: Theme, known: Collection[str], root: yaml.Node | None, file: str) -> list[TopicError]:
    """Each measure the theme defines: a new key, and operands that exist (a measure of the wall — `known`, its
    keys and aliases —, one of the theme's KPIs, or one defined above it in the file)."""
    errors = []
    kpis = {k.key for k in theme.kpis}
    own = {m.key for m in theme.measures}  # a KPI entry for a defined measure is its card, not an operand
    defined: set[str] = set()
    for i, m in enumerate(theme.measures):
        if m.key in known:  # (listing it under kpis too is how it gets a target, a department and a card)
            errors.append(TopicError(file, _line_of(root, ("measures", i, "key")), f"measures[{i}].key",
                                     f"{m.key} is already a measure of the wall: give the new measure a key of "
                                     f"its own"))
        unknown = [k for k in m.of if k not in known and (k not in kpis or k in own) and k not in defined]
        if unknown:
            errors.append(TopicError(
                file, _line_of(root, ("measures", i, "of")), f"measures[{i}].of",
                f"{', '.join(unknown)} is neither a measure of the wall, nor one of this theme's kpis, nor a measure "
                f"defined above (the editor's 指标定义 lists the measures)"))
        defined.add(m.key)
    return errors


def parse_theme(text: str, file: str, schemas: Mapping[str, type[BaseModel]] | None = None,
                rule_schemas: Mapping[str, type[BaseModel]] | None = None,
                context: Mapping[str, Any] | None = None) -> tuple[Theme | None, list[TopicError]]:
    """A theme from a file's text, or the reasons it was refused (each with its line).

    With `schemas` (panel type → its settings model, from the panel registry) each panel's type and settings
    are checked too; without, only the theme's own fields are. `context` is what the app knows beside the file:
    `city` (geo.City, for regions) and `measures` (the names of the wall's measures, for the theme's own).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        return None, [TopicError(file, mark.line + 1 if mark else None, None,
                                 f"not valid YAML: {e.problem or e.context}")]
    if not isinstance(data, dict):
        return None, [TopicError(file, 1, None, "a theme file holds fields (key: value), one per line")]
    try:
        data = migrate(data)
    except (ValueError, KeyError, TypeError) as e:
        return None, [TopicError(file, _line_of(root, ("schema_version",)), "schema_version", str(e))]
    try:
        theme = Theme.model_validate(data)
    except ValidationError as e:
        return None, [TopicError(file, _line_of(root, tuple(err["loc"])), _field(tuple(err["loc"])), _words(err))
                      for err in e.errors()]
    errors = _settings_errors(theme, schemas, root, file, rule_schemas, context) if schemas is not None else []
    if context is not None and "measures" in context:
        errors += _measure_errors(theme, context["measures"], root, file)
    return (None, errors) if errors else (theme, [])


def parse_override(text: str, file: str, theme: Theme | None, county: str,
                   schemas: Mapping[str, type[BaseModel]] | None = None,
                   context: Mapping[str, Any] | None = None
                   ) -> tuple[CountyOverride | None, Theme | None, list[TopicError]]:
    """A county's override of a city theme from its file's text: the override and the theme as the county's wall
    shows it, or the reasons it was refused (each with its line). The panels are checked by their types' models
    against that theme; `context`'s `city` (geo.City) says which counties there are."""
    city = (context or {}).get("city")
    if city is not None and not city.is_county(county):
        return None, None, [TopicError(file, None, None, f"{county} is not a county of {city.name} (the directory "
                                                         f"counties/<adcode>/ names the county)")]
    if theme is None:
        return None, None, [TopicError(file, None, None, "there is no city theme of this name to override (the "
                                                         "file is named after the theme's key)")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        return None, None, [TopicError(file, mark.line + 1 if mark else None, None,
                                       f"not valid YAML: {e.problem or e.context}")]
    if not isinstance(data, dict):
        return None, None, [TopicError(file, 1, None, "an override file holds fields (owner:, panels:), one per line")]
    try:
        override = CountyOverride.model_validate(data)
    except ValidationError as e:
        return None, None, [TopicError(file, _line_of(root, tuple(err["loc"])), _field(tuple(err["loc"])),
                                       OVERRIDE_EXTRA if err["type"] == "extra_forbidden" else _words(err))
                            for err in e.errors()]
    shown = override.apply(theme)
    errors = (_checked(shown.panels, "panels", "type", schemas, shown, root, file, "panel type", context)
              if schemas is not None and override.panels is not None else [])
    return (None, None, errors) if errors else (override, shown, [])


def override_starter(theme_text: str, theme: Theme, county_name: str) -> str:
    """The text a new override of a theme starts from: the city theme's owner and panels, to change for the county."""
    try:
        panels = (yaml.safe_load(theme_text) or {}).get("panels")
    except yaml.YAMLError:
        panels = None
    if not isinstance(panels, list):
        panels = [p.model_dump(exclude_none=True) for p in theme.panels]
    head = (f"# {county_name}的「{theme.name_zh}」：本文件只改墙面的 panels 和 owner；指标、目标、告警规则沿用全市主题 "
            f"{theme.key}。\n# The county's wall of {theme.name_en}: this file sets panels and owner only; KPIs, "
            f"targets and rules stay the city theme's.\n")
    body = yaml.safe_dump({"schema_version": 1, "owner": theme.owner, "panels": panels}, allow_unicode=True,
                          sort_keys=False, width=120)
    return head + body


def load_themes(directory: Path, schemas: Mapping[str, type[BaseModel]] | None = None
                ) -> tuple[tuple[Theme, ...], list[TopicError]]:
    """Every valid theme file (*.yaml) of a directory, ordered, and the errors of the others."""
    themes: list[Theme] = []
    errors: list[TopicError] = []
    for path in sorted(directory.glob("*.yaml")):
        theme, errs = parse_theme(path.read_text(encoding="utf-8"), path.name)
        if theme is not None:
            themes.append(theme)
        errors += errs
    keys = [t.key for t in themes]
    for key in {k for k in keys if keys.count(k) > 1}:
        errors.append(TopicError(directory.name, None, "key", f"two files define the theme {key!r}"))
    return tuple(sorted(themes, key=lambda t: (t.order, t.key))), errors


class ThemeStore:
    """The themes of a directory, reloaded when a file changes; a refused file keeps its last good version."""

    def __init__(self, directory: Path, recheck_s: float = 2.0,
                 schemas: Mapping[str, type[BaseModel]] | None = None,
                 rule_schemas: Mapping[str, type[BaseModel]] | None = None,
                 context: Mapping[str, Any] | None = None) -> None:
        self.directory = directory
        self.context = context  # city and measure names the files are checked against (parse_theme)
        self.schemas = schemas  # panel type → settings model; None checks the theme's own fields only
        self.rule_schemas = rule_schemas  # rule kind → settings model
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._stamps: dict[str, tuple[float, int]] = {}
        self._good: dict[str, Theme] = {}  # file name → its last good theme
        self._overrides: dict[str, CountyOverride] = {}  # override file (counties/…) → its last good override
        self._errors: dict[str, list[TopicError]] = {}
        self._checked = float("-inf")
        self.version = 0  # goes up whenever what the wall shows changes
        self._fingerprint: str | None = None
        self.refresh()

    def refresh(self) -> bool:
        """Read the files that changed since the last look; True when the themes changed."""
        with self._lock:
            self._checked = time.monotonic()
            seen: dict[str, tuple[float, int]] = {}
            changed = False
            for path in sorted(self.directory.glob("*.yaml")):
                stat = path.stat()
                seen[path.name] = (stat.st_mtime, stat.st_size)
                if self._stamps.get(path.name) == seen[path.name]:
                    continue
                theme, errors = self.parse(path.read_text(encoding="utf-8"), path.name)
                self._errors[path.name] = errors
                if theme is not None and theme != self._good.get(path.name):
                    self._good[path.name] = theme
                    changed = True
            for gone in set(self._good) - set(seen):  # a deleted file takes its theme with it
                del self._good[gone]
                self._errors.pop(gone, None)
                changed = True
            # The counties' overrides, after the themes they are checked against (all of them again when a theme
            # changed: what an override may name comes from its theme).
            by_key = {t.key: t for t in self._good.values()}
            themes_changed = changed
            for path in sorted(self.directory.glob(f"{COUNTIES_DIR}/*/*.yaml")):
                file = path.relative_to(self.directory).as_posix()
                stat = path.stat()
                seen[file] = (stat.st_mtime, stat.st_size)
                if not themes_changed and self._stamps.get(file) == seen[file]:
                    continue
                override, _, errors = parse_override(path.read_text(encoding="utf-8"), file,
                                                     by_key.get(path.stem), path.parent.name, self.schemas,
                                                     self.context)
                self._errors[file] = errors
                if override is not None and override != self._overrides.get(file):
                    self._overrides[file] = override
                    changed = True
            for gone in set(self._overrides) - set(seen):
                del self._overrides[gone]
                self._errors.pop(gone, None)
                changed = True
            for gone in set(self._errors) - set(seen):  # a refused file, deleted
                del self._errors[gone]
            self._stamps = seen
            if changed:
                self.version += 1
                self._fingerprint = None
            return changed

    def fingerprint(self) -> str:
        """A digest of the themes now: the same in every process that read the same files (the version counter
        is per process, so web workers compare this instead)."""
        themes = self.themes()
        with self._lock:
            if self._fingerprint is None:
                text = "\n".join([*(t.model_dump_json() for t in themes),
                                  *(f"{f}:{o.model_dump_json()}" for f, o in sorted(self._overrides.items()))])
                self._fingerprint = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
            return self._fingerprint

    def parse(self, text: str, file: str) -> tuple[Theme | None, list[TopicError]]:
        """A theme file's text checked as this store checks its files (panel settings included)."""
        return parse_theme(text, file, self.schemas, self.rule_schemas, self.context)

    def check(self, key: str, text: str) -> tuple[Theme | None, list[TopicError]]:
        """The text of a theme's file or of a county's override (key `theme@adcode`) checked as this store checks
        its files; for an override, the theme as the county's wall would show it."""
        theme_key, county = split_key(key)
        if county is None:
            return self.parse(text, f"{key}.yaml")
        city_theme = next((t for t in self.themes() if t.key == theme_key), None)
        _, shown, errors = parse_override(text, override_file(theme_key, county), city_theme, county, self.schemas,
                                          self.context)
        return shown, errors

    def path(self, key: str) -> Path:
        """The file of a theme or of a county's override of one (it may not exist yet)."""
        if "@" in key:
            theme_key, county = split_key(key)
            return self.directory / override_file(theme_key, county or "")
        return self.directory / f"{key}.yaml"

    def override(self, theme_key: str, county: str | None) -> CountyOverride | None:
        """The county's override of a theme now, if it has one (its last good version)."""
        if county is None:
            return None
        self.themes()  # rechecks the files when it is time
        with self._lock:
            return self._overrides.get(override_file(theme_key, county))

    def override_keys(self) -> tuple[str, ...]:
        """The keys of the overrides there are now (theme@adcode), sorted."""
        self.themes()
        with self._lock:
            return tuple(sorted(key_of_file(f) for f in self._overrides))

    def themes(self) -> tuple[Theme, ...]:
        """The current themes, ordered; rechecks the files at most every recheck_s seconds."""
        if time.monotonic() - self._checked >= self.recheck_s:
            self.refresh()
        with self._lock:
            return tuple(sorted(self._good.values(), key=lambda t: (t.order, t.key)))

    def errors(self) -> list[TopicError]:
        """Why files are refused now (their last good version, if any, is still shown)."""
        with self._lock:
            return [e for errs in self._errors.values() for e in errs]
