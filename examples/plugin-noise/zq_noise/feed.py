"""The `noise` feed: sound-level meters (声环境自动监测站) report the A-weighted equivalent level over their
interval, LAeq in dB(A), and the loudest moment, LAFmax (GB 3096-2008 measures both)."""

from __future__ import annotations

from pydantic import Field

from feeds import Context, Feed
from feeds.payloads import DevicePayload
from feeds.rows import device_row, observe
from store import Batch

FEED_NAME = "noise"
CADENCE_S = 60  # the meters report one LAeq per minute
# GB 3096-2008's functional zones (声环境功能区): 0 (rehabilitation), 1 (residential), 2 (mixed), 3 (industrial),
# 4a (along roads), 4b (along railways).
ZONES = ("0", "1", "2", "3", "4a", "4b")


class NoisePayload(DevicePayload):
    """One interval's reading of a sound-level meter."""

    laeq_db: float = Field(ge=20, le=140, description="A-weighted equivalent level over the interval, dB(A)")
    lmax_db: float | None = Field(None, ge=20, le=150, description="Loudest fast-weighted level, LAFmax, dB(A)")
    zone: str | None = Field(None, pattern=r"^(0|1|2|3|4a|4b)$",
                             description="GB 3096-2008 functional zone of the site: 0, 1, 2, 3, 4a or 4b")


def noise_rows(batch: Batch, p: NoisePayload, ctx: Context) -> None:
    """The meter (a device of kind noise) and its values as one observation."""
    batch.add_device(device_row(FEED_NAME, p, ctx, {"zone": p.zone}))
    observe(batch, FEED_NAME, p, ctx, {"laeq_db": p.laeq_db, "lmax_db": p.lmax_db})


FEED = Feed(FEED_NAME, "噪声监测", "Noise monitoring", NoisePayload, CADENCE_S, noise_rows)
