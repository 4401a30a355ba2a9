"""The renderer refuses to run without CJK fonts or HarfBuzz subsetting, clearly."""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess

import pytest

from finportal.packets import PacketEnvironmentError, check_environment, render_packet
from finportal.packets import environment as packet_environment


def _hide_harfbuzz_subset(monkeypatch):
    real_cdll = ctypes.CDLL

    def fake_cdll(name, *args, **kwargs):
        if "harfbuzz-subset" in str(name):
            raise OSError(f"{name}: cannot open shared object file")
        return real_cdll(name, *args, **kwargs)

    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(ctypes, "CDLL", fake_cdll)


def test_environment_is_ready_here():
    report = check_environment()
    assert "WenQuanYi Micro Hei" in report.cjk_families
    assert "Noto Sans CJK SC" in report.cjk_families
    assert report.harfbuzz_subset
    assert tuple(int(p) for p in report.harfbuzz_version.split(".")) >= (4, 1, 0)
    assert report.missing_chain_families == ()


def test_weasyprint_itself_loaded_harfbuzz_subset():
    # Without it WeasyPrint silently subsets with fontTools, 8 to 34 times slower.
    from weasyprint.text import ffi

    assert ffi.harfbuzz_subset is not None


def test_missing_harfbuzz_subset_gives_a_clear_error(monkeypatch):
    _hide_harfbuzz_subset(monkeypatch)
    with pytest.raises(PacketEnvironmentError) as excinfo:
        check_environment()
    message = str(excinfo.value)
    assert "libharfbuzz-subset.so.0" in message
    assert "无法加载" in message
    assert "apt-get install" in message
    assert "libharfbuzz-subset0" in message


def test_missing_cjk_font_gives_a_clear_error(monkeypatch):
    def empty_fc_list(args, **kwargs):
        return subprocess.CompletedProcess(args, 0, stdout="", stderr="")

    monkeypatch.setattr(packet_environment.subprocess, "run", empty_fc_list)
    with pytest.raises(PacketEnvironmentError) as excinfo:
        check_environment()
    message = str(excinfo.value)
    assert "未找到中文字体" in message
    assert "No CJK font" in message
    assert "fonts-wqy-microhei" in message


def test_renderer_stops_instead_of_printing_boxes(
    monkeypatch, sample_context, fresh_environment_check
):
    monkeypatch.setattr(packet_environment.shutil, "which", lambda name: None)
    with pytest.raises(PacketEnvironmentError, match="CJK"):
        render_packet(sample_context())


def test_old_harfbuzz_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(packet_environment, "harfbuzz_version", lambda: (2, 7, 4))
    with pytest.raises(PacketEnvironmentError, match=r"2\.7\.4.*4\.1\.0"):
        check_environment()


def test_missing_fallback_font_is_reported_not_fatal(monkeypatch, caplog, fresh_environment_check):
    # Without Noto Sans CJK, names with CJK Extension A characters would lose them.
    monkeypatch.setattr(packet_environment, "_cjk_families", lambda: ("WenQuanYi Micro Hei",))
    with caplog.at_level("WARNING", logger=packet_environment.__name__):
        report = packet_environment.ensure_environment()
    assert report.missing_chain_families == ("Noto Sans CJK SC",)
    assert any("Noto Sans CJK SC" in r.getMessage() for r in caplog.records)
