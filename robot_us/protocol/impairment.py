"""A network impairment proxy for tests and benchmarks: a TCP relay on loopback that delays
the bytes of each direction, jitters the delay, stalls the link and drops it.

TCP never loses data, so loss shows as what it costs a TCP stream: a stall (nothing
delivered for a while, then the backlog in a burst, like a retransmission after a lost
segment). ZeroMQ's messages are relayed as bytes; a chunk read from one side is delivered
to the other at ``read time + delay + U(-jitter, +jitter)``, never before the chunk read
before it (TCP keeps order). A hard drop either closes every connection and refuses new
ones (``close``: the peers see the link go down) or silently forwards nothing while keeping
the sockets open (``blackhole``: the peers see silence, as on a dead radio link).

One proxy relays several ports (a server uses four consecutive ones): ``ImpairmentProxy``
listens on ``listen_port + i`` for every ``target_port + i``. It runs an asyncio loop on its
own thread; every setting may change while it runs.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

#: Bytes read per chunk; chunks queued per direction before the reader waits (backpressure).
CHUNK_BYTES = 64 * 1024
MAX_QUEUED_CHUNKS = 4096
#: Delivery delays kept for inspection (s).
DELAY_SAMPLES = 10_000
DROP_MODES = ("close", "blackhole")


@dataclass(frozen=True)
class Impairment:
    """One-way delay (s, each direction), uniform jitter half-width (s), random stalls
    (Poisson rate per second and duration, s), the random seed."""

    delay: float = 0.0
    jitter: float = 0.0
    stall_rate: float = 0.0
    stall_duration: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "stall_rate", "stall_duration"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"impairment {name} must be >= 0, got {getattr(self, name)}")


class ImpairmentProxy:
    """Relays ``listen_port + i`` -> ``target_host:target_port + i`` for ``i < ports``."""

    def __init__(
        self,
        target_port: int,
        impairment: Impairment = Impairment(),
        *,
        ports: int = 1,
        target_host: str = "127.0.0.1",
        listen_host: str = "127.0.0.1",
        listen_port: int | None = None,
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.listen_host = listen_host
        self.ports = ports
        self.listen_port = listen_port if listen_port is not None else free_port_block(ports)
        self.impairment = impairment
        self._rng = random.Random(impairment.seed)
        self.mode: str | None = None  # None (relaying) or a drop mode
        self.stall_until = 0.0  # loop time (time.monotonic) until which nothing moves
        self.stalls = 0
        self.delays: deque[float] = deque(maxlen=DELAY_SAMPLES)
        self.bytes = 0
        self.connections = 0
        self.resets = 0  # connections ended by a peer's error
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.AbstractServer] = []
        self._stall_task: asyncio.Task | None = None

    # --- control (any thread) ----------------------------------------------------------

    def start(self) -> ImpairmentProxy:
        """Listen and relay."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5.0)
        return self

    def stop(self) -> None:
        """Close everything and end the thread."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5.0)
        self._loop.close()

    def __enter__(self) -> ImpairmentProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, i: int = 0) -> str:
        """``tcp://host:port`` of the ``i``-th relayed port."""
        return f"tcp://{self.listen_host}:{self.listen_port + i}"

    def set(self, impairment: Impairment) -> None:
        """Change delay, jitter and stalls from now on."""
        self.impairment = impairment
        self._rng = random.Random(impairment.seed)

    def stall(self, duration: float) -> None:
        """Deliver nothing for ``duration`` seconds from now (then the backlog)."""
        self.stall_until = max(self.stall_until, time.monotonic() + duration)
        self.stalls += 1

    def drop(self, mode: str = "close") -> None:
        """Drop the link: ``close`` every connection and refuse new ones, or ``blackhole``
        (forward nothing, keep the sockets open)."""
        if mode not in DROP_MODES:
            raise ValueError(f"drop mode '{mode}' not one of {DROP_MODES}")
        self.mode = mode
        if mode == "close":
            self._loop.call_soon_threadsafe(self._close_all)

    def restore(self) -> None:
        """Relay again after a drop (closed connections are re-made by the peers)."""
        self.mode = None

    # --- the loop ----------------------------------------------------------------------

    async def _start(self) -> None:
        for i in range(self.ports):
            server = await asyncio.start_server(
                lambda r, w, i=i: self._connection(r, w, self.target_port + i),
                self.listen_host,
                self.listen_port + i,
            )
            self._servers.append(server)
        self._stall_task = asyncio.ensure_future(self._random_stalls())

    async def _shutdown(self) -> None:
        if self._stall_task is not None:
            self._stall_task.cancel()
        for server in self._servers:
            server.close()
        self._close_all()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _random_stalls(self) -> None:
        while True:
            imp = self.impairment
            if imp.stall_rate <= 0 or imp.stall_duration <= 0:
                await asyncio.sleep(0.05)
                continue
            await asyncio.sleep(self._rng.expovariate(imp.stall_rate))
            self.stall(self.impairment.stall_duration)

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int
    ) -> None:
        if self.mode == "close":
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, port)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        except asyncio.CancelledError:
            return  # the proxy stops: this handler task ends quietly
        finally:
            for w in (writer, up_writer):
                w.close()
                self._writers.discard(w)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: a reader task queues chunks with their due times, this one
        delivers them in order once due, not stalled and not dropped."""
        queue: asyncio.Queue[tuple[float, float, bytes] | None] = asyncio.Queue(MAX_QUEUED_CHUNKS)
        reading = asyncio.ensure_future(self._read(reader, queue))
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                t_read, due, chunk = item
                while True:
                    now = time.monotonic()
                    hold = max(due, self.stall_until) - now
                    if self.mode == "blackhole":
                        hold = max(hold, 0.01)
                    if hold <= 0:
                        break
                    await asyncio.sleep(hold)
                if self.mode == "close":
                    break
                self.delays.append(time.monotonic() - t_read)  # before the peer can see it
                self.bytes += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            self.resets += 1  # a peer went away: the finally closes both sides
        finally:
            reading.cancel()
            writer.close()

    async def _read(
        self,
        reader: asyncio.StreamReader,
        queue: asyncio.Queue[tuple[float, float, bytes] | None],
    ) -> None:
        last_due = 0.0
        try:
            while chunk := await reader.read(CHUNK_BYTES):
                imp = self.impairment
                now = time.monotonic()
                jitter = self._rng.uniform(-imp.jitter, imp.jitter) if imp.jitter > 0 else 0.0
                last_due = max(last_due, now + max(0.0, imp.delay + jitter))
                await queue.put((now, last_due, chunk))
        except (ConnectionError, OSError):
            self.resets += 1  # the reading side went away: end this direction
        await queue.put(None)


def free_port_block(n: int, host: str = "127.0.0.1") -> int:
    """A base port with ``n`` consecutive free TCP ports on ``host`` (free when checked)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - n)
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind((host, base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports on {host}")
