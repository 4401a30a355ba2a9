"""The industry classification GB/T 4754-2017: sections and divisions with their names.

The enterprise profile's ``industry_code`` is a two-digit division (大类); this table
(``data/industries.yaml``, with its source) names it in Chinese and English, so that
pages, packets and the profile form show "39 计算机、通信和其他电子设备制造业" rather than a
bare code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from products import yaml_text


@dataclass(frozen=True, slots=True)
class Division:
    """One division (大类) and the section (门类) it belongs to."""

    code: str
    name_zh: str
    name_en: str
    section: str
    section_zh: str
    section_en: str

    def name(self, english: bool = False) -> str:
        """Return "code name" in Chinese, or in English."""
        return f"{self.code} {self.name_en if english else self.name_zh}"


@cache
def divisions() -> dict[str, Division]:
    """Return every division by its two-digit code, in the classification's order."""
    raw = yaml_text.data_file("products", "data/industries.yaml")
    out: dict[str, Division] = {}
    for section, item in raw["sections"].items():
        for code, (zh, en) in item["divisions"].items():
            out[str(code)] = Division(
                str(code), str(zh), str(en), str(section), str(item["zh"]), str(item["en"])
            )
    return out


@cache
def source() -> str:
    """Return the classification's citation."""
    return str(yaml_text.data_file("products", "data/industries.yaml")["source"])


def division_name(code: str | None, english: bool = False) -> str:
    """Return "code name" for a division code; the code itself when it is not one."""
    division = divisions().get(str(code or "").strip()[:2]) if code else None
    return division.name(english) if division is not None else str(code or "")
