"""``robot-us bringup ft``: stream the F/T sensor for a few seconds with the probe still
and unloaded, and report the rate, the bias (mean) and noise (standard deviation) per
axis, the link errors, and the age of the newest sample as the control loop would see it
(polled every millisecond). ``--emulate`` runs the same against the device's emulator,
optionally with faults injected, for a dry run and for CI."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hardware_drivers.devices import min_wrench_timeout
from hardware_drivers.netft_emulator import NetFtEmulator
from hardware_drivers.robotiq_emulator import Ft300Emulator
from hardware_drivers.robotiq_ft300 import latency_timer_ms
from hardware_drivers.wrench_stream import ThreadedWrenchSensor
from robot_us.core.types import WrenchSample

AXES = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
#: How often the loop-side age is polled (s).
POLL_S = 0.001
#: An FTDI latency timer above this (ms) holds the FT 300's frames back.
MAX_LATENCY_TIMER_MS = 2
#: What the emulated sensors report with --emulate: an offset and noise per axis (N, N·m).
EMULATED_BIAS = np.array([1.2, -0.6, 2.5, 0.012, -0.021, 0.004])
EMULATED_NOISE = np.array([0.05, 0.05, 0.08, 0.002, 0.002, 0.001])
#: Fault names --inject accepts, per driver (value: count, or seconds for stall / reset).
FAULTS = {
    "robotiq-ft300": ("corrupt", "drop", "garbage", "stall", "reset"),
    "ati-netft": ("drop", "status", "truncate", "duplicate", "stall", "reset"),
}


@dataclass
class FtReport:
    """The figures of one bring-up run (SI units; ages in ms)."""

    driver: str
    device: str
    seconds: float
    samples: int
    rate_hz: float
    nominal_hz: float
    mean: list[float]
    std: list[float]
    crc_errors: int
    discarded_bytes: int
    sequence_gaps: int
    out_of_order: int
    status_errors: int
    bad_packets: int
    stalls: int
    restarts: int
    device_resets: int
    arrivals_hz: float
    age_ms_p50: float
    age_ms_p99: float
    age_ms_max: float
    status: str
    min_timeout_ms: float = 0.0
    info: dict = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready: every figure, the required ``rate_hz``, ``mean``, ``std``,
        ``crc_errors`` and ``samples`` among them."""
        return dict(self.__dict__)


def parse_faults(spec: str, driver: str) -> list[tuple[str, float]]:
    """``"corrupt=5,stall=0.3"`` -> [("corrupt", 5.0), ("stall", 0.3)] (``ValueError``
    naming an unknown fault or a bad value)."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, value = item.partition("=")
        if name not in FAULTS[driver]:
            raise ValueError(
                f"--inject: unknown fault '{name}' for {driver}; one of {', '.join(FAULTS[driver])}"
            )
        try:
            out.append((name, float(value or 1)))
        except ValueError:
            raise ValueError(f"--inject: '{item}' needs a number after '='") from None
    return out


def start_emulator(driver: str, seed: int = 0):
    """The emulator of ``driver`` reporting a noisy constant wrench; (emulator, where):
    the serial port or (host, port)."""
    rng = np.random.default_rng(seed)
    lock = threading.Lock()

    def wrench() -> np.ndarray:
        with lock:  # the generator is not thread-safe
            return EMULATED_BIAS + rng.normal(0.0, EMULATED_NOISE)

    if driver == "robotiq-ft300":
        emu = Ft300Emulator(wrench, seed=seed).start()
        return emu, emu.port
    emu = NetFtEmulator(wrench, seed=seed).start()
    return emu, emu.address


def _apply_fault(emu, name: str, value: float) -> None:
    n = max(1, round(value))
    actions: dict[str, Callable[[], None]] = {
        "corrupt": lambda: emu.corrupt(n),
        "drop": lambda: emu.drop_bytes(n) if isinstance(emu, Ft300Emulator) else emu.drop(n),
        "garbage": lambda: emu.garbage(n),
        "status": lambda: emu.status_error(0x80000000, n),
        "truncate": lambda: emu.truncate(n),
        "duplicate": lambda: emu.duplicate(n),
        "stall": lambda: emu.stall(value),
        "reset": lambda: emu.reset(value),
    }
    actions[name]()


def inject_during(emu, faults: list[tuple[str, float]], seconds: float) -> threading.Thread:
    """Apply ``faults`` one after the other, spread over the middle of the run."""

    def run() -> None:
        for name, value in faults:
            time.sleep(seconds / (len(faults) + 1))
            _apply_fault(emu, name, value)

    t = threading.Thread(target=run, name="fault-injection", daemon=True)
    t.start()
    return t


def measure(sensor: ThreadedWrenchSensor, seconds: float, driver: str) -> FtReport:
    """Stream ``sensor`` (already started) for ``seconds`` and report."""
    capacity = int(seconds * sensor.rate_hz * 2) + 100
    sensor.record(capacity)
    st0 = sensor.stats
    base = {k: getattr(st0, k) for k in ("crc_errors", "discarded_bytes", "arrivals")}
    sample = WrenchSample()
    ages = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        sensor.read(sample)
        ages.append(sample.age)
        time.sleep(POLL_S)
    t, w = sensor.recorded()
    st = sensor.stats
    n = len(t)
    span = float(t[-1] - t[0]) if n > 1 else 0.0
    rate = (n - 1) / span if span > 0 else 0.0
    age = np.array(ages) * 1e3
    finite = age[np.isfinite(age)]
    report = FtReport(
        driver=driver,
        device=sensor.device,
        seconds=seconds,
        samples=n,
        rate_hz=rate,
        nominal_hz=sensor.rate_hz,
        mean=w.mean(axis=0).tolist() if n else [float("nan")] * 6,
        std=w.std(axis=0).tolist() if n > 1 else [float("nan")] * 6,
        crc_errors=st.crc_errors - base["crc_errors"],
        discarded_bytes=st.discarded_bytes - base["discarded_bytes"],
        sequence_gaps=st.sequence_gaps,
        out_of_order=st.out_of_order,
        status_errors=st.status_errors,
        bad_packets=st.bad_packets,
        stalls=st.stalls,
        restarts=st.restarts,
        device_resets=st.device_resets,
        arrivals_hz=(st.arrivals - base["arrivals"]) / seconds,
        age_ms_p50=float(np.percentile(finite, 50)) if len(finite) else float("inf"),
        age_ms_p99=float(np.percentile(finite, 99)) if len(finite) else float("inf"),
        age_ms_max=float(age.max()) if len(age) else float("inf"),
        status=sensor.status().value,
        min_timeout_ms=min_wrench_timeout(sensor) * 1e3,
    )
    _add_device_info(report, sensor)
    report.next_steps = next_steps(report)
    return report


def _add_device_info(report: FtReport, sensor) -> None:
    for key in ("firmware", "serial_number", "production_year", "port", "host"):
        if hasattr(sensor, key):
            report.info[key] = getattr(sensor, key)
    if report.driver == "robotiq-ft300":
        report.info["latency_timer_ms"] = latency_timer_ms(sensor.port)
    if sensor.stats.last_status_word:
        report.info["last_status_word"] = f"0x{sensor.stats.last_status_word:08x}"


def next_steps(r: FtReport) -> list[str]:
    """What to check next, from the figures."""
    steps = []
    if r.samples and r.rate_hz < 0.9 * r.nominal_hz:
        steps.append(
            f"the rate is {r.rate_hz:.1f} Hz of {r.nominal_hz:g} Hz: check the cable and that "
            "no other program reads the sensor"
        )
    lt = r.info.get("latency_timer_ms")
    if r.driver == "robotiq-ft300":
        if lt is not None and lt > MAX_LATENCY_TIMER_MS:
            steps.append(
                f"the USB latency timer is {lt} ms, so frames arrive in bursts (about "
                f"{1000 / lt:.0f} Hz): echo 1 | sudo tee /sys/bus/usb-serial/devices/"
                f"{r.info.get('port', 'ttyUSB0').rsplit('/', 1)[-1]}/latency_timer"
            )
        elif lt is None:
            steps.append(
                "USB latency timer: not a USB-serial adapter here; on the real /dev/ttyUSBn set "
                "/sys/bus/usb-serial/devices/ttyUSBn/latency_timer to 1 (the default 16 ms "
                "delivers the 100 Hz frames in bursts at about 62.5 Hz)"
            )
    if r.crc_errors or r.discarded_bytes:
        steps.append(
            f"{r.crc_errors} CRC errors / {r.discarded_bytes} bytes discarded: check the RS-485 "
            "wiring, termination and grounding"
        )
    if r.sequence_gaps or r.out_of_order or r.bad_packets:
        steps.append(
            f"{r.sequence_gaps} lost / {r.out_of_order} late / {r.bad_packets} bad packets: use "
            "a direct cable or a quiet switch, and a dedicated network port"
        )
    if r.status_errors:
        steps.append(
            f"{r.status_errors} records had a status error (last "
            f"{r.info.get('last_status_word')}): see the sensor's web page diagnostics "
            "(saturation, gauge errors)"
        )
    if r.stalls or r.device_resets:
        steps.append(
            f"{r.stalls} stalls, {r.device_resets} sensor restarts detected: check power and "
            "connectors"
        )
    seen = "" if r.stalls else f", 99 % of the ages seen here below {r.age_ms_p99:.1f} ms"
    floor = r.min_timeout_ms if r.stalls else max(r.min_timeout_ms, r.age_ms_p99)
    steps.append(
        "press on the probe along each axis and watch the sign: pressing into the body reads -Fz "
        f"(docs/architecture.md); keep safety.wrench_timeout above {floor:.0f} ms (the sensor's "
        f"minimum {r.min_timeout_ms:.1f} ms{seen})"
    )
    return steps


def format_report(r: FtReport) -> str:
    """The report as text."""
    lines = [f"{r.device} ({r.driver})"]
    info = {k: v for k, v in r.info.items() if k not in ("port", "host")}
    if info:
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in info.items()))
    lines += [
        f"  samples      {r.samples} in {r.seconds:g} s: {r.rate_hz:.1f} Hz (nominal "
        f"{r.nominal_hz:g} Hz), arriving in {r.arrivals_hz:.1f} reads/s",
        "  " + " " * 11 + "".join(f"{a:>10s}" for a in AXES),
        "  bias (mean)" + "".join(f"{v:10.4f}" for v in r.mean),
        "  noise (std)" + "".join(f"{v:10.4f}" for v in r.std),
        f"  errors       CRC {r.crc_errors}, discarded bytes {r.discarded_bytes}, sequence gaps "
        f"{r.sequence_gaps}, late {r.out_of_order}, bad packets {r.bad_packets}, status "
        f"{r.status_errors}",
        f"  link         {r.status}; stalls {r.stalls}, restarts {r.restarts}, sensor resets "
        f"{r.device_resets}",
        f"  sample age   p50 {r.age_ms_p50:.1f} ms, p99 {r.age_ms_p99:.1f} ms, max "
        f"{r.age_ms_max:.1f} ms (what the control loop sees)",
        "next:",
    ]
    lines += [f"  - {s}" for s in r.next_steps]
    return "\n".join(lines)
