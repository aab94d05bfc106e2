"""The OpenIGTLink bridge: tracked ultrasound frames to 3D Slicer (OpenIGTLinkIF) and any
other OpenIGTLink client, from the robot-side server live or from a recording.

Per frame, PLUS's device names: an IMAGE ``Image_Reference`` (the 8-bit frame, its
IJK-to-world matrix = image-to-base in mm, world RAS = the robot base frame, as in the
NRRD files of ``robot-us reconstruct``), a TRANSFORM ``ProbeToReference`` (probe pose in
the base frame, mm) and a STRING ``Quality`` (class, score, force). In Slicer, connect
OpenIGTLinkIF as a client to the bridge's port: the image appears as a volume node moving
in 3D (show it in the 3D view, e.g. with the Volume Reslice Driver).

The bridge is an OpenIGTLink server (pyigtl) on loopback: OpenIGTLink has no
authentication, so run the bridge on the viewing machine and reach the robot through the
ZeroMQ protocol (with CurveZMQ keys). Sending never waits: with no client or a slow one,
pyigtl's bounded queue drops the oldest messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyigtl

from robot_us.core.probe import ProbeConfig
from robot_us.protocol.client import Client
from robot_us.reconstruction.sweep import quality_of_frames
from robot_us.recording.contents import Recording

#: Device names (PLUS conventions).
IMAGE_DEVICE = "Image_Reference"
PROBE_DEVICE = "ProbeToReference"
QUALITY_DEVICE = "Quality"
#: Default OpenIGTLink port.
DEFAULT_PORT = 18944
#: Thickness given to the single image slice along the probe's elevation axis (mm).
SLICE_THICKNESS_MM = 1.0
#: How often the live loop looks for a new frame (s).
POLL_S = 0.005


@dataclass
class TrackedFrame:
    """A frame to publish: image (H x W uint8), pixel spacing (m, lateral and axial),
    probe pose (4x4, base frame, m), Unix time (s), quality class and score (or None),
    force (N, or NaN)."""

    image: np.ndarray
    spacing: tuple[float, float]
    T_base_probe: np.ndarray
    timestamp: float
    label: str | None = None
    score: float | None = None
    force: float = float("nan")


def image_to_base_mm(frame: TrackedFrame, probe: ProbeConfig) -> np.ndarray:
    """The frame's IJK-to-world matrix (4x4, mm): i along the columns, j along the rows,
    k along the probe's elevation axis (``SLICE_THICKNESS_MM``)."""
    T = frame.T_base_probe @ probe.T_probe_image(frame.image.shape[1], frame.spacing)
    M = T.copy()
    M[:3, 2] = frame.T_base_probe[:3, 1] * SLICE_THICKNESS_MM * 1e-3
    M[:3, :] *= 1e3
    return M


def messages(frame: TrackedFrame, probe: ProbeConfig) -> list[pyigtl.MessageBase]:
    """The IMAGE, TRANSFORM and STRING messages of one frame."""
    pose = np.array(frame.T_base_probe, float)
    pose[:3, 3] *= 1e3
    quality = "not assessed" if frame.label is None else f"{frame.label} {frame.score:.2f}"
    text = f"quality {quality}, force {frame.force:.1f} N"
    ts = frame.timestamp
    return [
        pyigtl.ImageMessage(
            np.ascontiguousarray(frame.image, dtype=np.uint8)[None],
            ijk_to_world_matrix=image_to_base_mm(frame, probe),
            world_coordinate_system="ras",
            timestamp=ts,
            device_name=IMAGE_DEVICE,
        ),
        pyigtl.TransformMessage(pose, timestamp=ts, device_name=PROBE_DEVICE),
        pyigtl.StringMessage(text, timestamp=ts, device_name=QUALITY_DEVICE),
    ]


class IgtlBridge:
    """An OpenIGTLink server on 127.0.0.1:``port`` publishing tracked frames with the
    image-to-probe calibration of ``probe``."""

    def __init__(self, port: int, probe: ProbeConfig) -> None:
        self.probe = probe
        self.server = pyigtl.OpenIGTLinkServer(port=port, local_server=True)
        self.port = port
        self.sent = 0

    def connected(self) -> bool:
        """An OpenIGTLink client is connected."""
        return bool(self.server.is_connected())

    def publish(self, frame: TrackedFrame) -> None:
        """Queue the frame's messages (never waits)."""
        for msg in messages(frame, self.probe):
            self.server.send_message(msg, wait=False)
        self.sent += 1

    def wait_client(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a client; whether one is connected."""
        end = time.monotonic() + timeout
        while not self.connected() and time.monotonic() < end:
            time.sleep(0.02)
        return self.connected()

    def close(self) -> None:
        """Stop the server."""
        self.server.stop()


def recorded_frames(rec: Recording) -> list[TrackedFrame]:
    """The recording's frames that have a pose, with their quality and force, stamped on
    the recording's wall clock (``origin_ns`` + frame time)."""
    origin = int(rec.metadata.get("origin_ns", 0)) * 1e-9
    out = []
    for f, q in zip(rec.frames, quality_of_frames(rec), strict=True):
        if f.T_base_probe is None:
            continue
        force = abs(float(f.wrench[2])) if f.wrench is not None else float("nan")
        out.append(
            TrackedFrame(
                f.image,
                f.spacing_m,
                f.T_base_probe,
                origin + f.t,
                None if q is None else q.label,
                None if q is None else q.score,
                force,
            )
        )
    return out


def replay(
    bridge: IgtlBridge,
    frames: list[TrackedFrame],
    speed: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Publish ``frames`` paced by their times / ``speed`` (0 = as fast as the client
    takes them); returns the number sent."""
    if not frames:
        return 0
    t0, w0 = frames[0].timestamp, time.monotonic()
    for fr in frames:
        if stop():
            break
        if speed > 0:
            delay = w0 + (fr.timestamp - t0) / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        else:
            _drain(bridge)
        bridge.publish(fr)
    _drain(bridge)
    return bridge.sent


def _drain(bridge: IgtlBridge, timeout: float = 2.0) -> None:
    """Wait until pyigtl's queue is empty (a connected client took everything)."""
    end = time.monotonic() + timeout
    srv = bridge.server
    while srv.outgoing_messages and bridge.connected() and time.monotonic() < end:
        time.sleep(0.002)


def live_frame(sample, received: float) -> TrackedFrame:
    """A ``FrameSample`` of the protocol client as a ``TrackedFrame`` stamped ``received``
    (Unix s)."""
    f = sample.frame
    q = f.quality
    return TrackedFrame(
        sample.image,
        (float(f.spacing[0]), float(f.spacing[1])),
        np.asarray(f.T_base_probe, float).reshape(4, 4),
        received,
        None if q is None else q.label,
        None if q is None else float(q.score),
        float(f.force),
    )


def run_live(
    bridge: IgtlBridge,
    client: Client,
    stop: Callable[[], bool],
    max_frames: int | None = None,
) -> int:
    """Publish every new frame the client receives until ``stop()`` or ``max_frames``;
    returns the number of frames published."""
    last = -1
    while not stop() and (max_frames is None or bridge.sent < max_frames):
        sample = client.latest_frame()
        if sample is None or sample.seq == last:
            time.sleep(POLL_S)
            continue
        last = sample.seq
        bridge.publish(live_frame(sample, time.time()))
    return bridge.sent
