"""Check, before rendering anything, that the machine can render a packet properly.

Two failures are silent in WeasyPrint and must not be: with no CJK font installed the
packet prints boxes instead of Chinese, and without HarfBuzz's subset library
(Debian ``libharfbuzz-subset0``) WeasyPrint falls back to fontTools, 8 to 34 times
slower. :func:`check_environment` turns both into a clear error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import shutil
import subprocess
from dataclasses import dataclass, field

__all__ = [
    "CHAIN_FAMILIES",
    "EnvironmentReport",
    "PacketEnvironmentError",
    "check_environment",
    "ensure_environment",
    "find_harfbuzz_subset",
    "harfbuzz_version",
]

# The CSS font chain of the packet; the first must be present for small packets, the
# second carries CJK Extension A (e.g. 㐀) that the first lacks.
CHAIN_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC")

_HB_SUBSET_SONAMES = ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib")
_HB_SONAMES = ("libharfbuzz.so.0", "libharfbuzz.0.dylib")
# WeasyPrint uses HarfBuzz subsetting only from 4.1.0 (hb_set_add_sorted_array).
_HB_MIN_VERSION = (4, 1, 0)

log = logging.getLogger(__name__)

_INSTALL_HINT = "apt-get install fonts-wqy-microhei fonts-noto-cjk libharfbuzz-subset0"


class PacketEnvironmentError(RuntimeError):
    """The machine lacks a font or library that referral packets need."""


@dataclass(frozen=True)
class EnvironmentReport:
    """What :func:`check_environment` found."""

    cjk_families: tuple[str, ...]
    harfbuzz_subset: str
    harfbuzz_version: str = ""
    missing_chain_families: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def find_harfbuzz_subset() -> str | None:
    """Return the name of a loadable HarfBuzz subset library, or None."""
    candidates: list[str] = []
    found = ctypes.util.find_library("harfbuzz-subset")
    if found:
        candidates.append(found)
    candidates.extend(_HB_SUBSET_SONAMES)
    for name in candidates:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return name
    return None


def harfbuzz_version() -> tuple[int, ...] | None:
    """Return the version of the HarfBuzz library that WeasyPrint will load, or None."""
    candidates = [name for name in (ctypes.util.find_library("harfbuzz"),) if name]
    for name in [*candidates, *_HB_SONAMES]:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.hb_version_string.restype = ctypes.c_char_p
        raw = lib.hb_version_string() or b""
        try:
            return tuple(int(part) for part in raw.decode().split("."))
        except ValueError:
            return None
    return None


def _cjk_families() -> tuple[str, ...]:
    """List the font families fontconfig knows for Chinese (``fc-list :lang=zh``)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ()
    try:
        # Fixed argument list, no shell: nothing user-controlled reaches the command.
        out = subprocess.run(  # noqa: S603
            [fc_list, ":lang=zh", "family"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    families: set[str] = set()
    for line in out.splitlines():
        for name in line.split(","):
            name = name.strip()
            if name:
                families.add(name)
    return tuple(sorted(families))


def check_environment() -> EnvironmentReport:
    """Raise :class:`PacketEnvironmentError` unless CJK fonts and HarfBuzz subset are usable."""
    problems: list[str] = []
    families = _cjk_families()
    if not families:
        problems.append(
            "未找到中文字体（fc-list :lang=zh 无结果），推荐材料包会把中文印成方框。"
            " / No CJK font found by fontconfig (`fc-list :lang=zh` is empty); "
            "Chinese text would print as boxes."
        )
    hb_subset = find_harfbuzz_subset()
    if hb_subset is None:
        problems.append(
            "无法加载 HarfBuzz 字体子集库 libharfbuzz-subset.so.0，"
            "WeasyPrint 会改用慢 8–34 倍的子集化方式。"
            " / Cannot load HarfBuzz's subset library (libharfbuzz-subset.so.0); "
            "WeasyPrint would silently fall back to a subsetter 8 to 34 times slower."
        )
    version = harfbuzz_version()
    if hb_subset is not None and version is not None and version < _HB_MIN_VERSION:
        shown = ".".join(map(str, version))
        problems.append(
            f"HarfBuzz 版本 {shown} 过旧（需要 ≥ 4.1.0），WeasyPrint 不会用它做字体子集。"
            f" / HarfBuzz {shown} is older than 4.1.0, which WeasyPrint needs to subset fonts."
        )
    if problems:
        raise PacketEnvironmentError(
            "推荐材料包无法生成 / Cannot render referral packets:\n- "
            + "\n- ".join(problems)
            + f"\n请安装 / Install with: {_INSTALL_HINT}"
        )
    missing = tuple(f for f in CHAIN_FAMILIES if f not in families)
    warnings = tuple(
        f"字体链中缺少 {name} / font {name!r} of the packet's chain is not installed"
        for name in missing
    )
    return EnvironmentReport(
        cjk_families=families,
        harfbuzz_subset=hb_subset or "",
        harfbuzz_version=".".join(map(str, version)) if version else "",
        missing_chain_families=missing,
        warnings=warnings,
    )


@functools.cache
def ensure_environment() -> EnvironmentReport:
    """Run :func:`check_environment` once per process (the renderer calls this)."""
    report = check_environment()
    for warning in report.warnings:
        # Packets still render (fontconfig falls back to another CJK font), but names
        # with rare characters may lose them or packets may grow: say so once.
        log.warning("%s", warning)
    return report
