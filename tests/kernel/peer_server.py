"""A pod's server for the kernel harness: reports the peer address it sees, over TCP and UDP.

Run inside a pod's network namespace: ``python3 peer_server.py NAME PORT [PORT...]``. Each TCP
connection and each UDP datagram gets one JSON line back: ``{"pod": NAME, "peer": "IP", "port": N}``.
It prints ``ready`` once every socket is bound, and exits when its standard input closes (the
harness holds it open), so a crashed test run leaves no server behind.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading


def _reply(name: str, peer: tuple[str, int], port: int) -> bytes:
    return (json.dumps({"pod": name, "peer": peer[0], "port": port}) + "\n").encode()


def _serve_tcp(sock: socket.socket, name: str, port: int) -> None:
    while True:
        conn, peer = sock.accept()
        with conn, contextlib.suppress(OSError):
            conn.settimeout(2)
            conn.sendall(_reply(name, peer, port))


def _serve_udp(sock: socket.socket, name: str, port: int) -> None:
    while True:
        _data, peer = sock.recvfrom(2048)
        sock.sendto(_reply(name, peer, port), peer)


def main() -> None:
    name, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    for port in ports:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", port))
        tcp.listen(64)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("0.0.0.0", port))
        threading.Thread(target=_serve_tcp, args=(tcp, name, port), daemon=True).start()
        threading.Thread(target=_serve_udp, args=(udp, name, port), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # returns when the harness closes our stdin (or dies)


if __name__ == "__main__":
    main()
