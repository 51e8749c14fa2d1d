"""Colour classes for any measure: a standard's bands where one exists, else a mapclassify classification."""

from __future__ import annotations

import functools
import math
import warnings
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from layers.aqi import band_range
from layers.choropleth import NO_DATA, Shading
from standards.aqi import AQI_BANDS
from standards.fire import FIRE_LEVELS
from words import Words, pick, t

WORDS = Words("layers.classify")  # the schemes' titles, scheme_<scheme>

Scheme = Literal["natural_breaks", "quantiles", "equal_interval", "fisher_jenks"]
SCHEMES: tuple[str, ...] = ("natural_breaks", "quantiles", "equal_interval", "fisher_jenks")
MAX_K = 9

# ColorBrewer YlOrRd (Cynthia Brewer, colorbrewer2.org), the published table for each class count.
# Five classes is the existing SEQUENTIAL palette. ColorBrewer starts at three classes: two classes take
# the ends of the 3-class table and one class its middle, so a single class still reads as "some".
YLORRD: Mapping[int, tuple[str, ...]] = {
    1: ("#feb24c",),
    2: ("#ffeda0", "#f03b20"),
    3: ("#ffeda0", "#feb24c", "#f03b20"),
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"),
    6: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"),
    7: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    8: ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    9: ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"),
}

# Fisher-Jenks is O(k·n²) in pure Python (numba is not installed): ≈0.15 s for 400 values, 9 s for 3000.
# Natural breaks therefore runs it on at most this many evenly spaced order statistics of the values.
JENKS_SAMPLE = 96  # ≈8 ms; 256 cost a county drill 59 ms (`make bench`, drill)


def palette(k: int) -> tuple[str, ...]:
    """The ColorBrewer YlOrRd colours for k classes (1 ≤ k ≤ 9)."""
    if k not in YLORRD:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
    return YLORRD[k]


def _is_missing(value: float | None) -> bool:
    """None and NaN (of any float type) mean "no data"."""
    if value is None:
        return True
    try:
        return math.isnan(value)
    except TypeError:
        return False


def number_formatter(numbers: Sequence[float], lang: str = "zh") -> Callable[[float], str]:
    """A formatter for numbers shown together: whole numbers without decimals, 万/亿 in Chinese, distinct.

    Decimals are the fewest that give the smallest non-zero number two significant digits and keep
    different numbers apart; trailing zeros are dropped.
    """
    finite = [float(x) for x in numbers if not _is_missing(x) and math.isfinite(float(x))]
    top = max((abs(x) for x in finite), default=0.0)
    scale, suffix = 1.0, ""
    if lang == "zh" and top >= 1e8:
        scale, suffix = 1e8, "亿"
    elif lang == "zh" and top >= 1e4:
        scale, suffix = 1e4, "万"
    scaled = [x / scale for x in finite]
    nonzero = [abs(x) for x in scaled if x != 0]
    if all(x.is_integer() for x in scaled):
        decimals = 0
    else:
        smallest = min(nonzero, default=1.0)
        decimals = max(0, 1 - math.floor(math.log10(smallest)))
    distinct = sorted(set(scaled))
    while decimals < 6 and len({round(x, decimals) for x in distinct}) < len(distinct):
        decimals += 1

    def fmt(x: float) -> str:
        if x == 0:
            return "0"
        text = f"{x / scale:,.{decimals}f}" if lang == "en" else f"{x / scale:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return ("0" if text in ("-0", "") else text) + suffix

    return fmt


@dataclass(frozen=True)
class Classes:
    """Classes of a measure: upper bounds, one colour each, and the legend that explains them.

    Class i holds bins[i-1] < value ≤ bins[i] (the first class everything up to bins[0]); values above
    the last bound fall in the last class, so a value that arrives after classifying still gets a colour.
    """

    bins: tuple[float, ...]
    colours: tuple[str, ...]
    lower: float = 0.0
    scheme: str = "natural_breaks"
    integral: bool = False
    no_data: bool = False
    lang: str = "zh"

    @property
    def k(self) -> int:
        """Number of classes."""
        return len(self.bins)

    def class_of(self, value: float | None) -> int | None:
        """Index of the class a value falls in (None for no data or when there are no classes)."""
        if _is_missing(value) or not self.bins:
            return None
        return min(bisect_left(self.bins, float(value)), len(self.bins) - 1)  # type: ignore[arg-type]

    def colour_of(self, value: float | None) -> str:
        """Fill colour of a value: its class colour, the no-data grey for None or NaN."""
        i = self.class_of(value)
        return NO_DATA if i is None else self.colours[i]

    @property
    def title(self) -> str:
        """What the classes are, for the legend's heading."""
        return WORDS.get(f"scheme_{self.scheme}", self.lang, self.scheme)

    @property
    def legend(self) -> list[tuple[str, str]]:
        """(colour, range) of each class, plus the no-data grey when some value had none."""
        fmt = number_formatter([self.lower, *self.bins], self.lang)
        out: list[tuple[str, str]] = []
        for i, (colour, upper) in enumerate(zip(self.colours, self.bins, strict=True)):
            if self.integral:
                low = self.lower if i == 0 else self.bins[i - 1] + 1
            else:
                low = self.lower if i == 0 else self.bins[i - 1]
            out.append((colour, fmt(upper) if low == upper else f"{fmt(low)}–{fmt(upper)}"))
        if self.no_data:
            out.append((NO_DATA, t("legend_no_data", self.lang)))
        return out


def _spread_sample(ys: np.ndarray) -> np.ndarray:
    """At most JENKS_SAMPLE evenly spaced entries of a sorted array, always keeping both ends."""
    if len(ys) <= JENKS_SAMPLE:
        return ys
    return ys[np.linspace(0, len(ys) - 1, JENKS_SAMPLE).round().astype(int)]


def _bins(y: np.ndarray, scheme: str, k: int) -> np.ndarray:
    """Upper bounds from mapclassify for k classes of y (at least two distinct values)."""
    with warnings.catch_warnings():
        # mapclassify warns when it lowers k (classify() has lowered it already; a collapsing quantile is
        # handled by the caller) and when numba is missing (the pure-Python path is the expected one here).
        # The filter is process-wide for this moment: at worst another thread's warning goes unshown.
        warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
        warnings.filterwarnings("ignore", message="Not enough unique values", category=UserWarning)
        return _mapclassify_bins(y, scheme, k)


def _mapclassify_bins(y: np.ndarray, scheme: str, k: int) -> np.ndarray:
    """The scheme's bins, computed by mapclassify (remembered for the same values: Fisher-Jenks in pure Python
    took 14 ms of a county drill for 800 cells whose counts seldom change between ticks)."""
    return _bins_of(np.sort(y).tobytes(), scheme, k).copy()


@functools.lru_cache(maxsize=256)
def _bins_of(sorted_y: bytes, scheme: str, k: int) -> np.ndarray:
    """The bins of values given as their sorted float64 bytes (a pure function of them: safe to remember)."""
    return _compute_bins(np.frombuffer(sorted_y, dtype=float), scheme, k)


def _compute_bins(y: np.ndarray, scheme: str, k: int) -> np.ndarray:
    """The scheme's bins, computed by mapclassify."""
    # Imported here: mapclassify pulls in scikit-learn (≈1 s), which pages without a classed map never need.
    import mapclassify

    if scheme == "quantiles":
        return mapclassify.Quantiles(y, k=k).bins
    if scheme == "equal_interval":
        return mapclassify.EqualInterval(y, k=k).bins
    if scheme == "fisher_jenks":
        return mapclassify.FisherJenks(y, k=k).bins
    # Natural breaks: the Jenks optimum (what mapclassify.NaturalBreaks approximates by k-means from random
    # starts, which gave 6 different break sets in 20 runs on the same 400 values: a wall would recolour on
    # unchanged data). Fisher-Jenks finds it exactly and the same every time; above JENKS_SAMPLE values it
    # runs on evenly spaced order statistics, which keep the shape of the distribution.
    ys = _spread_sample(np.sort(y))
    if len(np.unique(ys)) <= k:
        ys = _spread_sample(np.unique(y))  # a few values dominate the sample: classify the distinct ones
    bins = mapclassify.FisherJenks(ys, k=k).bins
    bins[-1] = y.max()
    return bins


def classify(values: Mapping[str, float | None] | Sequence[float | None], scheme: Scheme = "natural_breaks",
             k: int = 5, *, lang: str = "zh") -> Classes:
    """Classes of the values by a mapclassify scheme; k drops to the number of distinct values.

    None and NaN are no data (a grey class of their own); no values at all give no classes, and one
    distinct value a single class. Equal intervals keep k whenever there are two distinct values (the
    widths come from the range), so some of their classes may be empty.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {SCHEMES}")
    palette(k)  # validates k
    raw = list(values.values()) if isinstance(values, Mapping) else list(values)
    present = [float(v) for v in raw if not _is_missing(v)]  # type: ignore[arg-type]
    if any(math.isinf(v) for v in present):
        raise ValueError("values must be finite (use None for no data)")
    no_data = len(present) < len(raw)
    if not present:
        return Classes((), (), scheme=scheme, no_data=no_data, lang=lang)
    y = np.asarray(present, dtype=float)
    distinct = np.unique(y)
    integral = bool(np.all(y == np.round(y)))
    if len(distinct) == 1:
        bins = distinct
    elif scheme == "equal_interval":
        bins = np.unique(_bins(y, scheme, k))  # widths come from the range: any two values define them
    elif len(distinct) <= k:
        bins = distinct  # k drops to the distinct values, each its own class: the optimum of every scheme
    else:
        bins = np.unique(_bins(y, scheme, k))
    if integral:
        # Whole-number data: class (a, b] holds the same values as (⌊a⌋, ⌊b⌋], and whole bounds read better.
        bins = np.unique(np.floor(bins))
    bins[-1] = max(bins[-1], y.max())
    return Classes(tuple(float(b) for b in bins), palette(len(bins)), lower=float(y.min()), scheme=scheme,
                   integral=integral, no_data=no_data, lang=lang)


@dataclass(frozen=True)
class Band:
    """One band of a standard: inclusive upper bound (None: open-ended), colour and names."""

    upper: float | None
    colour: str
    legend_zh: str
    legend_en: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class StandardBands:
    """A standard's bands and colours, to shade a measure the standard grades."""

    key: str
    title_zh: str
    title_en: str
    bands: tuple[Band, ...]
    value_prefix: str = ""  # written before the value in hover text, e.g. "AQI "
    show_value: bool = True  # False when the value is the level itself (the band name says it)
    round_up: bool = False  # HJ 633 rounds AQI up to a whole number before banding

    def band_of(self, value: float) -> Band:
        """The band a value falls in."""
        v = math.ceil(value) if self.round_up else value
        for band in self.bands:
            if band.upper is None or v <= band.upper:
                return band
        return self.bands[-1]

    def title(self, lang: str = "zh") -> str:
        """The standard's name for the legend heading."""
        return pick(self.title_zh, self.title_en, lang)


# HJ 633-2012 Table 2 bands, colours from its Appendix A (standards.aqi / standards.colours).
AQI_STANDARD = StandardBands(
    "aqi", "空气质量指数 AQI（HJ 633-2012）", "AQI (HJ 633-2012)",
    tuple(Band(b.aqi_max, b.colour.hex, f"{band_range(b)} {b.category_zh}", f"{band_range(b)} {b.category_en}",
               b.category_zh, b.category_en) for b in AQI_BANDS),
    value_prefix="AQI ", round_up=True,
)
# 森林火险气象等级 1–5 with the colours standards.fire gives them (QX/T 77-2007); the value is the level.
FIRE_STANDARD = StandardBands(
    "fire_level", "森林火险气象等级（QX/T 77-2007）", "Forest fire danger level (QX/T 77-2007)",
    tuple(Band(f.level, f.colour.hex, f"{f.level_zh} {f.name_zh}", f"Level {f.level} {f.name_en}",
               f"{f.level_zh} {f.name_zh}", f.name_en) for f in FIRE_LEVELS),
    show_value=False,
)
STANDARDS: Mapping[str, StandardBands] = {s.key: s for s in (AQI_STANDARD, FIRE_STANDARD)}


def _standard_shading(values: Mapping[str, float | None], names: Mapping[str, str], unit: str,
                      codes: Sequence[str], std: StandardBands, lang: str) -> Shading:
    """Shading in a standard's bands: every band in the legend, whatever the data, so the scale never moves."""
    fmt = number_formatter([v for v in values.values() if not _is_missing(v)], lang)
    no_data = t("legend_no_data", lang)
    colours, labels, hover = {}, {}, {}
    for c in codes:
        v, name = values.get(c), names.get(c, c)
        if _is_missing(v):
            colours[c], labels[c] = NO_DATA, f"{name}<br>—"
            hover[c] = f"{name}: {no_data}"
            continue
        band = std.band_of(float(v))  # type: ignore[arg-type]
        shown = fmt(math.ceil(v) if std.round_up else v)  # type: ignore[arg-type]
        colours[c] = band.colour
        band_name = pick(band.name_zh, band.name_en, lang)
        labels[c] = f"{name}<br><b>{shown if std.show_value else band_name}</b>"
        value_text = f"{std.value_prefix}{shown}{' ' + unit if unit else ''} " if std.show_value else ""
        hover[c] = f"{name}: {value_text}{band_name}"
    legend = [(b.colour, pick(b.legend_zh, b.legend_en, lang)) for b in std.bands]
    if any(_is_missing(values.get(c)) for c in codes):
        legend.append((NO_DATA, no_data))
    return Shading(colours=colours, labels=labels, hover=hover, legend=legend, title=std.title(lang))


def shading_for_metric(values: Mapping[str, float | None], names: Mapping[str, str], unit: str = "",
                       ids: Sequence[str] = (), standard: str | StandardBands | None = None, lang: str = "zh",
                       *, scheme: Scheme = "natural_breaks", k: int = 5) -> Shading:
    """Shading of any measure by area id (county adcode or grid_id): a standard's bands if given, else classes.

    ``standard`` names one of STANDARDS ("aqi", "fire_level") or is a StandardBands; without one the values
    are classified (natural breaks by default). Ids without a value are drawn as no data.
    """
    codes = list(ids) or list(values)
    if standard is not None:
        std = STANDARDS[standard] if isinstance(standard, str) else standard
        return _standard_shading(values, names, unit, codes, std, lang)
    classes = classify({c: values.get(c) for c in codes}, scheme, k, lang=lang)
    fmt = number_formatter([v for v in values.values() if not _is_missing(v)], lang)
    no_data = t("legend_no_data", lang)
    labels, hover = {}, {}
    for c in codes:
        v, name = values.get(c), names.get(c, c)
        shown = "—" if _is_missing(v) else fmt(v)  # type: ignore[arg-type]
        labels[c] = f"{name}<br><b>{shown}</b>" if not _is_missing(v) else f"{name}<br>—"
        hover[c] = f"{name}: {no_data}" if _is_missing(v) else f"{name}: {shown} {unit}".strip()
    return Shading(colours={c: classes.colour_of(values.get(c)) for c in codes}, labels=labels, hover=hover,
                   legend=classes.legend, title=classes.title)
