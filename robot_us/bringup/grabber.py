"""``robot-us bringup grabber``: grab from the ultrasound frame grabber (an OpenCV
device index, or a video file for a dry run) for a few seconds and report the frame
rate from the frame times, the resolution, frames dropped, and a mean grey level (a
black image means the scanner's video output or the grabber's input is wrong)."""

from __future__ import annotations

import time

import numpy as np

from hardware_drivers.video_capture import VideoCaptureSource


def measure(source: VideoCaptureSource, seconds: float) -> dict:
    """Grab for ``seconds`` of wall time (or to the end of a file); figures as a dict."""
    t_end = time.monotonic() + seconds
    levels = []
    while time.monotonic() < t_end:
        frame = source.grab()
        if frame is None:
            break
        levels.append(float(frame.image.mean()))
    out = source.stats.as_dict()
    out["mean_level"] = float(np.mean(levels)) if levels else 0.0
    out["uri"] = str(source.uri)
    out["next_steps"] = next_steps(out)
    return out


def next_steps(r: dict) -> list[str]:
    """What to check next, from the figures."""
    steps = []
    if r["frames"] == 0:
        steps.append("no frames: check the cable from the scanner's video output and the input")
    if r["mean_level"] < 5.0 and r["frames"]:
        steps.append("the image is black: select the grabber's input, and the scanner's output")
    if r["dropped"]:
        steps.append(
            f"{r['dropped']} frames dropped: use a USB 3 port, or ask for a lower resolution "
            "(hardware.grabber.width / height / fps)"
        )
    if r["nominal_fps"] and r["rate_hz"] < 0.9 * r["nominal_fps"]:
        steps.append(
            f"{r['rate_hz']:.1f} Hz measured of {r['nominal_fps']:g} Hz reported: the scanner may "
            "send fewer frames than the grabber's mode; set ultrasound.rate_hz to what it sends"
        )
    steps.append(
        "find the image area on the scanner's screen and set hardware.grabber.crop = [x, y, w, h], "
        "then ultrasound.pixel_spacing from the depth scale"
    )
    return steps


def format_report(r: dict) -> str:
    """The report as text."""
    lines = [
        f"frame grabber {r['uri']}",
        f"  frames     {r['frames']} in {r['seconds']:.2f} s: {r['rate_hz']:.1f} Hz measured "
        f"({r['nominal_fps']:g} Hz reported)",
        f"  resolution {r['width']} x {r['height']} px, mean grey level {r['mean_level']:.0f}",
        f"  dropped    {r['dropped']}",
        "next:",
    ]
    return "\n".join(lines + [f"  - {s}" for s in r["next_steps"]])
