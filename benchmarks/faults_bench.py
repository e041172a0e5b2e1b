"""What faults cost the engine, printed, never asserted: run ``python benchmarks/faults_bench.py``.

Against a real engine process, in one run so that the machine's noise hits baselines and
measurements alike:

1. A hostile message before the token is checked: one 15 MiB msgpack array of empty maps.
   The time to its typed refusal and the engine's resident memory before and after.
2. ``hello`` round trips while 20,000 ``watch`` requests that their sender never reads arrive
   during a streaming job, as a ratio to idle ``hello`` (the baseline).
3. How long a connected client takes to notice that its engine was SIGKILLed.
"""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import zmq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from engine_harness import start_engine_process, wait_gone  # noqa: E402
from moviola.plugin import errors  # noqa: E402
from moviola.plugin import protocol as wire  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def hello_ms(client) -> float:
    start = time.perf_counter()
    client.hello()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="moviola-faults-"))
    engine = start_engine_process(home)
    ctx = zmq.Context.instance()
    try:
        with engine.client(timeout=10.0) as client:
            client.hello()
            raw = ctx.socket(zmq.DEALER)
            raw.setsockopt(zmq.LINGER, 0)
            raw.connect(engine.discovery.endpoint)
            size = 15 * 1024 * 1024
            before = rss_mb(engine.process.pid)
            start = time.perf_counter()
            raw.send(b"\xdd" + size.to_bytes(4, "big") + b"\x80" * size)
            raw.poll(30_000)
            reply = wire.decode(raw.recv_multipart())[0]
            print(f"15 MiB of empty maps: {reply.body['code']} in {time.perf_counter() - start:.2f} s, "
                  f"RSS {before:.0f} -> {rss_mb(engine.process.pid):.0f} MB")
            raw.close()

            job = client.submit("sleep", {"steps": 80, "step_s": 0.05})
            idle = statistics.median(hello_ms(client) for _ in range(20))
            flood = ctx.socket(zmq.DEALER)
            flood.setsockopt(zmq.LINGER, 0)
            flood.connect(engine.discovery.endpoint)
            for n in range(20_000):
                flood.send(msgpack.packb({"protocol": list(wire.PROTOCOL_VERSION), "id": f"w{n}",
                                          "type": "watch", "token": engine.discovery.token,
                                          "body": {"job_id": job.job_id}}))
            under = sorted(hello_ms(client) for _ in range(20))
            flood.close()
            print(f"hello idle {idle:.1f} ms; under 20,000 unread watches median "
                  f"{statistics.median(under):.1f} ms ({statistics.median(under) / idle:.1f}x), "
                  f"max {under[-1]:.1f} ms")
            job.wait()

            waiting = client.submit("sleep", {"steps": 600, "step_s": 0.05})
            engine.process.send_signal(signal.SIGKILL)
            start = time.perf_counter()
            try:
                waiting.wait()
            except (errors.EngineNotRunningError, errors.EngineTimeoutError) as exc:
                print(f"killed engine noticed in {time.perf_counter() - start:.2f} s "
                      f"({type(exc).__name__})")
    finally:
        engine.stop()
        wait_gone(engine.process.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
