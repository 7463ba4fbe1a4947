"""A TCP proxy that adds latency: 127.0.0.1:<port> -> upstream, each reply held back.

Production databases are often across a network; there the number of round trips, not
CPU, decides. The proxy forwards client->server bytes at once and delivers every
server->client chunk `delay` seconds after it arrived, so each request/response round
trip costs `delay` more. Chunks are delayed independently (pipelined, in order), so a
large result streamed in many chunks still costs one delay, as on a real network.

Run on its own (stdlib only):  python bench/proxy.py --delay-ms 10 [--port 6543]
It prints "listening on 127.0.0.1:<port>" once ready. `LatencyProxy` starts it as a
subprocess: in-process, its event loop would compete for the GIL with the code timed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
from types import TracebackType


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    if delay <= 0:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        return
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await delivering
    finally:
        delivering.cancel()


async def _serve_client(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, upstream: tuple[str, int], delay: float) -> None:
    try:
        server_r, server_w = await asyncio.open_connection(*upstream)
    except OSError:
        client_w.close()
        return
    tasks = [
        asyncio.create_task(_forward(client_r, server_w, 0.0)),
        asyncio.create_task(_forward(server_r, client_w, delay)),
    ]
    # When either side is done (or fails), close both.
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    for w in (client_w, server_w):
        with contextlib.suppress(Exception):
            w.close()


async def serve(port: int, upstream: tuple[str, int], delay: float) -> None:
    server = await asyncio.start_server(lambda r, w: _serve_client(r, w, upstream, delay), "127.0.0.1", port)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{bound}", flush=True)
    async with server:
        await server.serve_forever()


class LatencyProxy:
    """`with LatencyProxy(10) as port:` runs the proxy in a subprocess for the block."""

    def __init__(self, delay_ms: float, upstream: str = "127.0.0.1:5432") -> None:
        self.delay_ms = delay_ms
        self.upstream = upstream
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> int:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--port", "0", "--delay-ms", str(self.delay_ms), "--upstream", self.upstream],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"latency proxy did not start: {line!r}")
        return int(line.rsplit(":", 1)[1])

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6543, help="port to listen on, 127.0.0.1 (0: any free port)")
    parser.add_argument("--upstream", default="127.0.0.1:5432", help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="added to each round trip (server->client direction)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, (host, int(port)), args.delay_ms / 1000))


if __name__ == "__main__":
    main()
