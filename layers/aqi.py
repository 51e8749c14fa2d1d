"""The ecology map measure: counties filled with the HJ 633 AQI band colours instead of case classes."""

from __future__ import annotations

from collections.abc import Mapping

from layers.choropleth import NO_DATA
from standards.aqi import AQI_BANDS, AqiBand, aqi_band
from words import pick, t



def band_range(band: AqiBand) -> str:
    """The AQI range of a band as a legend writes it: 0–50 … 201–300, >300."""
    return f">{band.aqi_min - 1}" if band.aqi_max is None else f"{band.aqi_min}–{band.aqi_max}"


def aqi_colour(value: int | None) -> str:
    """Fill colour of an AQI: its HJ 633 band colour, neutral grey when there is none."""
    return NO_DATA if value is None else aqi_band(int(value)).colour.hex


def aqi_choropleth_values(county_aqi: Mapping[str, int | None], *, lang: str = "zh"
                          ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Each county's fill colour from the HJ 633 bands, and the legend (colour, "0–50 优") of all six bands.

    The legend lists every band whatever the data, so the scale reads the same on every tick; the
    no-data grey is added only when some county shows it.
    """
    colours = {adcode: aqi_colour(v) for adcode, v in county_aqi.items()}
    legend = [(b.colour.hex, f"{band_range(b)} {pick(b.category_zh, b.category_en, lang)}")
              for b in AQI_BANDS]
    if any(v is None for v in county_aqi.values()):
        legend.append((NO_DATA, t("legend_no_data", lang)))
    return colours, legend


def aqi_labels(county_aqi: Mapping[str, int | None], names: Mapping[str, str], *, lang: str = "zh"
               ) -> tuple[dict[str, str], dict[str, str]]:
    """Map label (name and AQI) and hover text (name, AQI, category) of each county."""
    labels, hover = {}, {}
    for adcode, v in county_aqi.items():
        name = names.get(adcode, adcode)
        if v is None:
            labels[adcode] = f"{name}<br>—"
            hover[adcode] = f"{name}: {t('legend_no_data', lang)}"
            continue
        band = aqi_band(int(v))
        labels[adcode] = f"{name}<br><b>{int(v)}</b>"
        hover[adcode] = f"{name}: AQI {int(v)} {pick(band.category_zh, band.category_en, lang)}"
    return labels, hover
