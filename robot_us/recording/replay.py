"""Replaying a recording: its messages in time order, optionally paced at ``speed`` times
real time, as a generator (``replay``) or into a callback (``replay_into``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from robot_us.recording import channels as ch
from robot_us.recording.contents import Recording

#: Topic under which full-rate state rows are replayed (one structured row each).
STATE_ROW_TOPIC = ch.STATE.topic


@dataclass
class ReplayMessage:
    """One replayed item: loop time (s), topic and the decoded value (a ``FrameRecord``,
    ``QualitySample``, ``ScanEvent``, state row, plan, dict...)."""

    t: float
    topic: str
    value: Any


def replay_messages(rec: Recording, topics: Iterable[str] | None = None) -> list[ReplayMessage]:
    """Every replayable item of ``rec`` sorted by time (stable for equal times)."""
    wanted = None if topics is None else set(topics)
    items: list[ReplayMessage] = []

    def add(t: float, topic: str, value: Any) -> None:
        if wanted is None or topic in wanted:
            items.append(ReplayMessage(t, topic, value))

    if rec.config is not None:
        add(rec.start_t, ch.CONFIG.topic, rec.config)
    if rec.plan is not None:
        add(rec.start_t, ch.PLAN.topic, rec.plan)
    if rec.camera is not None:
        add(rec.camera.t, ch.CAMERA_RGB.topic, rec.camera)
    for f in rec.frames:
        add(f.t, ch.US_IMAGE.topic, f)
    for q in rec.quality:
        add(q.t, ch.US_QUALITY.topic, q)
    for e in rec.events:
        add(e.t, ch.EVENTS.topic, e)
    if wanted is None or STATE_ROW_TOPIC in wanted:
        for row in rec.state:
            items.append(ReplayMessage(float(row["t"]), STATE_ROW_TOPIC, row))
    if rec.summary is not None:
        add(rec.end_t, ch.SUMMARY.topic, rec.summary)
    items.sort(key=lambda it: it.t)
    return items


def replay(
    rec: Recording,
    speed: float = 1.0,
    topics: Iterable[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ReplayMessage]:
    """Yield ``rec``'s messages in time order, paced at ``speed`` x real time
    (``speed`` <= 0 or infinite: as fast as possible)."""
    if math.isnan(speed):
        raise ValueError("replay speed must be a number, got NaN")
    items = replay_messages(rec, topics)
    paced = 0 < speed < math.inf
    if not items:
        return
    t0 = items[0].t
    wall0 = clock()
    for it in items:
        if paced:
            due = wall0 + (it.t - t0) / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        yield it


def replay_into(
    rec: Recording,
    callback: Callable[[ReplayMessage], None],
    speed: float = 1.0,
    topics: Iterable[str] | None = None,
) -> int:
    """Call ``callback`` with each replayed message; returns how many were replayed."""
    n = 0
    for it in replay(rec, speed=speed, topics=topics):
        callback(it)
        n += 1
    return n
