"""Several workers share one listening socket; it must say it is TCP, or asyncio leaves Nagle's
algorithm on and every kept-alive request waits ~40 ms for a delayed acknowledgement (uvicorn issue 3149)."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from treaty_ledger.cli.serving import listening_socket


def test_the_shared_socket_says_it_is_tcp_and_passes_to_workers() -> None:
    sock = listening_socket(uvicorn.Config("x:y", host="127.0.0.1", port=0, workers=2))
    with sock:
        assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()


def test_connections_accepted_on_it_have_nagle_off() -> None:
    sock = listening_socket(uvicorn.Config("x:y", host="127.0.0.1", port=0, workers=2))
    seen: list[int] = []

    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0
