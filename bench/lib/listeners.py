#!/usr/bin/env python3
"""Many small HTTP servers, one process each: bench/memory.sh's "100 instrumented processes".

    python3 bench/lib/listeners.py FIRST_PORT COUNT

Forks COUNT children (copy-on-write, so they cost little memory); child i listens on
127.0.0.1:FIRST_PORT+i and answers every request with a 3-byte 200 and closes. Prints
"ready COUNT" once every child listens. SIGTERM or SIGINT stops them all; a child also
stops when the parent dies.
"""
import ctypes
import os
import select
import signal
import socket
import sys
import time

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
PR_SET_PDEATHSIG = 1


def serve(port: int, ready_fd: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # best effort: the parent's SIGTERM handler stops us anyway
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    os.write(ready_fd, b"x")
    os.close(ready_fd)
    while True:
        conn, _ = sock.accept()
        try:
            conn.settimeout(2)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data:
                conn.sendall(RESPONSE)
        except OSError:
            pass
        finally:
            conn.close()


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    first, count = int(sys.argv[1]), int(sys.argv[2])
    if not (1 <= count <= 10000 and 1024 <= first and first + count - 1 <= 65535):
        print("want COUNT 1..10000 and ports 1024..65535", file=sys.stderr)
        return 2
    read_fd, write_fd = os.pipe()
    children = []

    def stop_children() -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    def on_signal(*_args: object) -> None:
        stop_children()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for i in range(count):
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                serve(first + i, write_fd)
            except BaseException as e:  # noqa: BLE001 - report why the child died
                print(f"listener on port {first + i}: {e}", file=sys.stderr)
            os._exit(1)
        children.append(pid)
    os.close(write_fd)
    ready = 0
    deadline = time.monotonic() + 30
    while ready < count and time.monotonic() < deadline:
        readable, _, _ = select.select([read_fd], [], [], 1)
        if readable:
            got = os.read(read_fd, 4096)
            if not got:
                break  # every child closed its end: some died before listening
            ready += len(got)
    if ready < count:
        print(f"only {ready} of {count} listeners started", file=sys.stderr)
        stop_children()
        return 1
    print(f"ready {count}", flush=True)
    while children:
        # A child that dies is reported; the rest keep serving.
        pid, status = os.wait()
        if pid in children:
            children.remove(pid)
            print(f"listener pid {pid} exited with status {status}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
