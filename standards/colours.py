"""Named display colours shared by the standards (AQI bands, warning signals, fire levels)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field

_Channel = Annotated[int, Field(ge=0, le=255)]


class Colour(BaseModel):
    """A named colour: zh/en name and 8-bit RGB, with the CSS hex form derived from it."""

    model_config = ConfigDict(frozen=True)

    name_zh: str
    name_en: str
    rgb: tuple[_Channel, _Channel, _Channel] = Field(description="8-bit red, green, blue")

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator over a property (pydantic docs)
    @property
    def hex(self) -> str:
        """CSS hex form, upper case, e.g. '#00E400'."""
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


# HJ 633-2012 Appendix A: the six AQI category colours (normative RGB values).
AQI_GREEN = Colour(name_zh="绿色", name_en="green", rgb=(0, 228, 0))
AQI_YELLOW = Colour(name_zh="黄色", name_en="yellow", rgb=(255, 255, 0))
AQI_ORANGE = Colour(name_zh="橙色", name_en="orange", rgb=(255, 126, 0))
AQI_RED = Colour(name_zh="红色", name_en="red", rgb=(255, 0, 0))
AQI_PURPLE = Colour(name_zh="紫色", name_en="purple", rgb=(153, 0, 76))
AQI_MAROON = Colour(name_zh="褐红色", name_en="maroon", rgb=(126, 0, 35))

# Warning-signal colours (fog, fire danger, water level). The signal rules name the colour but
# give no RGB here, so green/yellow/orange/red reuse the AQI values to keep one palette on the
# wall; BLUE is a display choice. Change them here if a deployment has official values.
GREEN = AQI_GREEN
BLUE = Colour(name_zh="蓝色", name_en="blue", rgb=(0, 112, 255))
YELLOW = AQI_YELLOW
ORANGE = AQI_ORANGE
RED = AQI_RED
