#!/usr/bin/env python3
"""Baseline for rollout-bench: the least a JSON-RPC 2.0 server over NDJSON must do.

For every line received on a Unix socket it parses the JSON request, builds
{"jsonrpc":"2.0","id":<id>,"result":{}} and writes it back followed by "\n".
Plain asyncio (no uvloop), one task per connection, idiomatic and not slowed down
on purpose: it drains the writer only when the transport's buffer grows large.

Usage: python3 bench/echo_server.py SOCKET_PATH
"""

import asyncio
import json
import os
import signal
import sys

LINE_LIMIT = 16 * 1024 * 1024  # the default 64 KiB would refuse large requests
DRAIN_ABOVE = 256 * 1024  # bytes buffered in the transport before we await drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    loads = json.loads
    dumps = json.dumps
    write = writer.write
    transport = writer.transport
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                request = loads(line)
                request_id = request.get("id") if isinstance(request, dict) else None
                response = '{"jsonrpc":"2.0","id":%s,"result":{}}\n' % dumps(request_id)
            except ValueError:
                response = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}\n'
            write(response.encode())
            if transport.get_write_buffer_size() > DRAIN_ABOVE:
                await writer.drain()
    except (ConnectionError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(handle, path=path, limit=LINE_LIMIT)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: echo_server.py SOCKET_PATH")
    asyncio.run(main(sys.argv[1]))
