"""``robot-us report``: one self-contained HTML page of a recorded scan, checked in a real
headless browser (Debian's Chromium): it loads without console errors and shows every
picture."""

from __future__ import annotations

import re

import pytest

from robot_us.cli import main
from tests.headless_browser import CHROMIUM, HeadlessChromium

pytestmark = pytest.mark.slow  # the session's sweep recording takes ~30 s once

SECTIONS = (
    "Overview",
    "Camera view: planned and executed path",
    "Contact force",
    "Key frames along the path",
    "Spans not imaged",
    "3D reconstruction",
    "Timing and faults",
    "Configuration and software",
)


@pytest.fixture(scope="module")
def report(sweep_recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(sweep_recording), "--out", str(out)]) == 0
    return out


def test_report_is_one_self_contained_page(report):
    html = report.read_text()
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in html
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) >= 6 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"(href|src)=\"(https?:|file:|//)", html) and "<script" not in html
    assert "robot-us 0." in html and "left out of the volume" in html
    assert "Mapped anechoic vessels" in html and "no_contact" in html


def test_report_follows_the_output_policy(report, sweep_recording, capsys):
    capsys.readouterr()
    assert main(["report", str(sweep_recording), "--out", str(report)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["report", str(sweep_recording), "--out", str(report.with_suffix(".pdf"))]) == 2
    assert "give an .html file name" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_loads_in_chromium_without_errors_and_shows_its_images(report, tmp_path):
    n_img = report.read_text().count("<img ")
    with HeadlessChromium() as browser:
        browser.load(report.as_uri())
        assert browser.errors() == []
        shown = browser.evaluate(
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert shown == n_img
        heads = browser.evaluate(
            "Array.from(document.querySelectorAll('h2')).map(h => h.innerText)"
        )
        assert list(SECTIONS) == [h for h in heads if h in SECTIONS]
        shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 50_000
    # the browser does report errors: a broken page is caught
    broken = tmp_path / "broken.html"
    broken.write_text('<html><body><img src="data:image/png;base64,AAAA"><script>nope()</script>')
    with HeadlessChromium() as browser:
        browser.load(broken.as_uri())
        assert (
            browser.errors()
            and browser.evaluate(
                "Array.from(document.images).filter(i => i.naturalWidth > 0).length"
            )
            == 0
        )


def test_a_cut_recording_still_gets_a_report(sweep_recording, tmp_path, capsys):
    cut = tmp_path / "cut.mcap"
    data = sweep_recording.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])  # no summary: the scan "did not finish"
    out = tmp_path / "cut.html"
    assert main(["report", str(cut), "--out", str(out)]) == 0
    assert "truncated" in capsys.readouterr().err
    html = out.read_text()
    assert "no summary" in html and "truncated" in html and "<h2>3D reconstruction</h2>" in html
