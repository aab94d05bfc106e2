"""Protocol figures on loopback against the test stub server (tests/protocol_stub.py, in its
own process): no control cycle behind it, so these are the protocol's and the client's own
costs; the real server's figures come with ``bench/teleop.py``.

- request round trip through the ``Client`` (heartbeat -> ack; includes the client's I/O
  thread hand-over) and with a bare DEALER (the wire and the stub alone), p50/p99;
- state stream: the stub publishes as fast as its loop goes; the rate a non-conflating
  subscriber receives, and the stub's publish rate (from the state seq numbers);
- encode/decode time and size of one state message (this process);
- the round trip through the impairment proxy at 150 ms one-way delay (checks the proxy).

Writes DIR/protocol.json.

    python bench/protocol.py [--requests N] [--seconds S] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_us.protocol import messages as m
from robot_us.protocol.client import Client, RemoteError
from robot_us.protocol.codec import decode_command, decode_server_message, encode
from robot_us.protocol.endpoints import PORT_SPAN
from robot_us.protocol.impairment import Impairment, ImpairmentProxy
from tests.protocol_samples import SAMPLES

WARMUP = 200


def _serve(state_rate_hz: float, ports: mp.Queue, stop: mp.Event) -> None:
    from tests.protocol_stub import StubServer

    srv = StubServer(state_rate_hz=state_rate_hz).start()
    ports.put(srv.port)
    stop.wait()
    srv.stop()


def _stub(state_rate_hz: float):
    ctx = mp.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(state_rate_hz, ports, stop), daemon=True)
    proc.start()
    return proc, stop, ports.get(timeout=60)


def pct(x: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(x), q))


def client_rtt(url: str, n: int) -> list[float]:
    with Client(url, name="bench", idle_heartbeat_hz=0.0, streams=()) as c:
        body = m.Heartbeat()
        for _ in range(WARMUP):
            c.request(body)
        return [c.request(body).rtt for _ in range(n)]


def raw_rtt(url: str, n: int) -> list[float]:
    ctx = zmq.Context.instance()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.connect(url)
    dealer.send_multipart(encode(m.Hello(client_name="bench-raw"), 1))
    dealer.recv_multipart()
    out = []
    for i in range(WARMUP + n):
        t0 = time.perf_counter()
        dealer.send_multipart(encode(m.Heartbeat(), i + 2))
        decode_server_message(dealer.recv_multipart())
        if i >= WARMUP:
            out.append(time.perf_counter() - t0)
    dealer.close()
    return out


def state_rate(url_state: str, seconds: float) -> tuple[float, float, int]:
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.rcvhwm = 100_000
    sub.subscribe(b"")
    sub.connect(url_state)
    sub.recv_multipart()  # connected
    n = 0
    first = last = None
    size = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if not sub.poll(100):
            continue
        frames = sub.recv_multipart()
        msg = decode_server_message(frames)
        first = msg.seq if first is None else first
        last = msg.seq
        size = len(frames[0])
        n += 1
    elapsed = time.perf_counter() - t0
    sub.close()
    return n / elapsed, (last - first) / elapsed, size


def codec_us(body, decode, n: int = 20_000) -> tuple[float, float]:
    frames = encode(body, 1)
    t0 = time.perf_counter()
    for _ in range(n):
        encode(body, 1)
    t1 = time.perf_counter()
    for _ in range(n):
        decode(frames)
    t2 = time.perf_counter()
    return (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6


def proxy_rtt(port: int, delay: float, n: int = 10) -> tuple[list[float], int]:
    """Heartbeat round trips (s) through the impairment proxy, and how many the server
    refused as stale (older than its validity on arrival: the proxy's delay plus its
    scheduling on a loaded machine)."""
    rtts: list[float] = []
    stale = 0
    with (
        ImpairmentProxy(port, Impairment(delay=delay), ports=PORT_SPAN) as px,
        Client(px.url(), name="bench-wan", timeout=5.0, streams=()) as c,
    ):
        for _ in range(n):
            try:
                rtts.append(c.heartbeat().rtt)
            except RemoteError as e:
                if "stale" not in str(e):
                    raise
                stale += 1
    return rtts, stale


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--out", type=Path, default=Path("bench-results"))
    args = ap.parse_args()

    proc, stop, port = _stub(state_rate_hz=20_000.0)
    url = f"tcp://127.0.0.1:{port}"
    try:
        rtt = client_rtt(url, args.requests)
        raw = raw_rtt(url, args.requests)
        recv_hz, pub_hz, state_bytes = state_rate(f"tcp://127.0.0.1:{port + 1}", args.seconds)
        wan, wan_stale = proxy_rtt(port, 0.150)
    finally:
        stop.set()
        proc.join(10)
    enc_us, dec_us = codec_us(SAMPLES["state"], decode_server_message)
    twist_enc_us, twist_dec_us = codec_us(SAMPLES["teleop_twist"], decode_command)
    res = {
        "conditions": "stub server (tests/protocol_stub.py) in its own process, loopback TCP, "
        "no CURVE, no control cycle; shared 2-core machine",
        "loadavg_1min": os.getloadavg()[0],
        "requests": args.requests,
        "rtt_ms_p50": pct(rtt, 50) * 1e3,
        "rtt_ms_p99": pct(rtt, 99) * 1e3,
        "raw_rtt_ms_p50": pct(raw, 50) * 1e3,
        "raw_rtt_ms_p99": pct(raw, 99) * 1e3,
        "state_rate_hz": recv_hz,
        "state_publish_hz": pub_hz,
        "state_bytes": state_bytes,
        "state_encode_us": enc_us,
        "state_decode_us": dec_us,
        "twist_encode_us": twist_enc_us,
        "twist_decode_us": twist_dec_us,
        "proxy_delay_ms": 150.0,
        "proxy_rtt_ms_p50": pct(wan, 50) * 1e3 if wan else None,
        "proxy_heartbeats_refused_stale": wan_stale,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "protocol.json").write_text(json.dumps(res, indent=2) + "\n")
    for key, value in res.items():
        if isinstance(value, float):
            print(f"{key:22s} {value:10.3f}")
    print(f"wrote {args.out / 'protocol.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
