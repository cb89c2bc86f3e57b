"""The ``dbt`` command that a warm dbt server runs: the client half of :mod:`.dbt_warm`.

This module imports the standard library only, so the launcher script that
:class:`~floe_orchestrator_dagster.dbt.warm.WarmDbt` writes starts in a few tens of
milliseconds (``python -S``). It behaves like ``dbt`` to whoever starts it (dagster-dbt):

1. connects to the server's Unix socket (``FLOE_DBT_WARM_SOCKET``); when there is none, or it
   does not answer, it *becomes* the real ``dbt`` (``exec`` of ``FLOE_DBT_WARM_FALLBACK``), so
   the command always runs;
2. sends its arguments, working directory and environment, and its own stdin/stdout/stderr
   (``SCM_RIGHTS``): the dbt process the server forks writes straight into the pipe dagster-dbt
   reads, exactly as a ``dbt`` process would;
3. forwards SIGINT/SIGTERM to that dbt process, and exits with dbt's exit status. If the
   server goes away before a dbt process started for the command, it runs the real ``dbt``;
   if the dbt process disappears without a status (killed), it exits with 2 and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["ENV_FALLBACK", "ENV_SOCKET", "main", "read_frame", "send_frame"]

#: Environment variable naming the warm server's socket.
ENV_SOCKET = "FLOE_DBT_WARM_SOCKET"
#: Environment variable naming the ``dbt`` executable to run when no server answers.
ENV_FALLBACK = "FLOE_DBT_WARM_FALLBACK"
_HEADER = struct.Struct("!I")


def send_frame(sock: socket.socket, payload: bytes, fds: Sequence[int] = ()) -> None:
    """One length-prefixed message (with file descriptors riding on its first bytes)."""
    data = _HEADER.pack(len(payload)) + payload
    sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
    sock.sendall(data[sent:])


def read_frame(sock: socket.socket, max_fds: int = 0) -> tuple[bytes, list[int]] | None:
    """The next message and the descriptors sent with it; None at end of stream."""
    fds: list[int] = []
    buffer = b""
    while len(buffer) < _HEADER.size:
        if max_fds and not fds:
            chunk, received, _flags, _addr = socket.recv_fds(sock, 65536, max_fds)
            fds.extend(received)
        else:
            chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    (size,) = _HEADER.unpack_from(buffer)
    buffer = buffer[_HEADER.size :]
    while len(buffer) < size:
        chunk = sock.recv(size - len(buffer))
        if not chunk:
            return None
        buffer += chunk
    return buffer, fds


def _fallback(argv: Sequence[str]) -> NoReturn:
    """Become the real ``dbt`` with the same arguments (``exec`` does not return)."""
    dbt = os.environ.get(ENV_FALLBACK, "dbt")
    os.execvp(dbt, [dbt, *argv])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = os.environ.get(ENV_SOCKET) or _fallback(args)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        _fallback(args)
    request = {"argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}
    send_frame(sock, json.dumps(request).encode(), fds=(0, 1, 2))
    child: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child[0], signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    while True:
        try:
            frame = read_frame(sock)
        except OSError:  # the server went away while the command was queued
            frame = None
        if frame is None:
            if not child:  # no dbt was started for this command: run the real one
                sock.close()
                _fallback(args)
            sys.stderr.write(
                "floe: the dbt process of the warm dbt server ended without an exit status "
                f"(pid {child[0]}); see dbt.log in the target folder\n"
            )
            return 2
        message = json.loads(frame[0])
        if "pid" in message:
            child[:] = [int(message["pid"])]
        elif "exit" in message:
            return int(message["exit"])


if __name__ == "__main__":
    raise SystemExit(main())
