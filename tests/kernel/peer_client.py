"""A client for the kernel harness: one connection attempt, reported as one JSON line.

Run inside a client's network namespace:
``python3 peer_client.py --dst IP --port N [--src IP] [--proto tcp|udp] [--timeout S]``, or with
``--serve`` to answer one JSON request per line of standard input.

Besides what the socket call says (connected, refused, timed out, unreachable), it sniffs the
namespace's interfaces (an AF_PACKET socket, opened before the first packet is sent) and lists the
source addresses of every packet that came back to the client's port: that is how a reply from an
address other than the one contacted (DNAT without SNAT, answered straight from the pod) is seen
even though the socket itself never completes.
"""

from __future__ import annotations

import argparse
import errno
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
#: Seconds for the server's line once a TCP connection is established. The handshake is the kernel's;
#: the line needs the server's thread to run, which a loaded machine may delay: generous, as it costs
#: nothing when the line comes (it ends the wait), and its expiry is "no-reply", never a lost packet.
REPLY_TIMEOUT = 20.0


def _sniffer() -> socket.socket:
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sniff.setblocking(False)
    return sniff


def _replies(sniff: socket.socket, client_ip: str, client_port: int) -> list[dict[str, object]]:
    """Every IPv4 packet received to (client_ip, client_port), plus ICMP errors to client_ip."""
    seen: list[dict[str, object]] = []
    while select.select([sniff], [], [], 0)[0]:
        frame, address = sniff.recvfrom(65535)
        if address[2] == PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        header = (ip[0] & 0x0F) * 4
        proto, src, dst = ip[9], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        if client_ip != "0.0.0.0" and dst != client_ip:
            continue
        if proto in (6, 17):
            dport = struct.unpack("!H", ip[header + 2 : header + 4])[0]
            if dport != client_port:
                continue
            entry: dict[str, object] = {"src": src, "proto": "tcp" if proto == 6 else "udp"}
            if proto == 6:
                flags = ip[header + 13]
                entry["flags"] = "".join(f for bit, f in ((0x02, "S"), (0x10, "A"), (0x04, "R")) if flags & bit)
            seen.append(entry)
        elif proto == 1:
            seen.append({"src": src, "proto": "icmp", "type": ip[header], "code": ip[header + 1]})
    return seen


def attempt(dst: str, port: int, src: str | None, proto: str, timeout: float) -> dict[str, object]:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.settimeout(timeout)
    sock.bind((src or "0.0.0.0", 0))
    sniff = _sniffer()
    result: dict[str, object] = {"dst": dst, "port": port, "proto": proto}
    connected = False
    try:
        sock.connect((dst, port))
        connected = proto == "tcp"
        local_ip, local_port = sock.getsockname()
        if proto == "udp":
            sock.send(b"hello\n")
            data = sock.recv(4096)
        else:
            # Connected: the kernel finished the handshake. Give the server time to answer even
            # on a loaded machine; only the handshake is bounded by --timeout.
            sock.settimeout(REPLY_TIMEOUT)
            data = b""
            deadline = time.monotonic() + REPLY_TIMEOUT
            while not data.endswith(b"\n") and time.monotonic() < deadline:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        result.update(outcome="connected", reply=json.loads(data.decode()))
    except TimeoutError:
        # A handshake that never completed is a lost packet; a connection whose server did not answer in
        # time is not, and must not read as one.
        result["outcome"] = "no-reply" if connected else "timeout"
    except ConnectionRefusedError:
        result["outcome"] = "refused"
    except OSError as error:
        if error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            result["outcome"] = "unreachable"
        elif error.errno == errno.EPERM:
            result["outcome"] = "blocked"  # dropped by a filter rule on the client's own host
        else:
            result["outcome"] = "error"
        result["error"] = str(error)
    local_ip, local_port = sock.getsockname()
    result.update(src=local_ip, src_port=local_port)
    time.sleep(0.05)  # let the last packets of the exchange reach the sniffer
    result["replies"] = _replies(sniff, local_ip, local_port)
    sock.close()
    sniff.close()
    return result


def serve() -> None:
    """Answer one JSON request per line of standard input (the harness keeps one client per
    namespace rather than starting a process per attempt); exit when standard input closes."""
    for line in sys.stdin:
        request = json.loads(line)
        result = attempt(request["dst"], request["port"], request.get("src"), request["proto"], request["timeout"])
        print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help="read requests as JSON lines on stdin")
    parser.add_argument("--dst")
    parser.add_argument("--port", type=int)
    parser.add_argument("--src")
    parser.add_argument("--proto", default="tcp", choices=("tcp", "udp"))
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    if args.serve:
        serve()
    elif args.dst is None or args.port is None:
        parser.error("--dst and --port are required (or --serve)")
    else:
        print(json.dumps(attempt(args.dst, args.port, args.src, args.proto, args.timeout)))


if __name__ == "__main__":
    main()
