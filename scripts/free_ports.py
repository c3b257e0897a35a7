"""Prints N distinct free loopback TCP ports, one per line, for servers that are told their port
and bind it later (moto, the stand-in, cargo lambda watch).

Why not bind port 0 and print what the kernel chose: that port is from the ephemeral range, the
same range the kernel hands to *outgoing* connections, so between this script and the server's
bind any connection the test run opens (to moto, to a function) may take it. Ports below the
ephemeral range are never handed out that way; only another listener could take one, and each is
checked free here.

    python3 scripts/free_ports.py 4
"""

import random
import socket
import sys


def ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    low, high = 20000, min(ephemeral_low(), 32768)
    if high - low < 1000:
        low = max(1024, high - 8000)
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randrange(low, high)
        if port not in chosen and free(port):
            chosen.append(port)
    print("\n".join(map(str, chosen)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
