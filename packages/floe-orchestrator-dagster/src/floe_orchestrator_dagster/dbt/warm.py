"""A warm dbt: dbt's modules imported once, a fresh dbt process per command in milliseconds.

Every ``dbt build`` dagster-dbt starts is a new Python process that imports dbt-core and its
adapter before it reads the project: about 2.5 s on a 2-core machine, once per op, so twice
for a product on two compute targets and three times when targets feed each other. An
in-process ``floe run`` knows at its start that it will run dbt, so it starts
:class:`WarmDbt` first: a server process that imports dbt (and the adapters of the product's
compute targets) *while* the run process imports Dagster and builds the definitions.

Then every dbt command of the run is served by ``fork``: the server (which has imported, never
run, dbt) forks a child that *is* a fresh dbt process — its own globals, flags, adapter and
connections, exactly as if started from scratch — minus the imports. The command dagster-dbt
starts is the small client of :mod:`.warm_client` (see its docstring): it hands over its
arguments, working directory, environment and standard streams, and returns dbt's exit
status, so dagster-dbt reads dbt's JSON log from its pipe as always. When the server is gone,
the client runs the real ``dbt`` itself.

The server dies with the process that started it (``PR_SET_PDEATHSIG`` on Linux) and with
:meth:`WarmDbt.close`; a dbt child whose client disappears is interrupted like a ``dbt`` that
gets Ctrl-C.

The decision, and what would make us revisit it:
``docs/decisions/0006-warm-dbt-server-fork-per-command.md``.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from floe_orchestrator_dagster.dbt import warm_client
from floe_orchestrator_dagster.dbt.warm_client import ENV_FALLBACK, ENV_SOCKET
from floe_orchestrator_dagster.process_lifetime import die_with_parent

__all__ = [
    "ENV_CLIENT",
    "WarmDbt",
    "client_executable",
    "dbt_executable",
    "is_own_dbt",
    "serve",
    "warm_dbt",
]

#: Environment variable naming the client launcher of the active warm server.
ENV_CLIENT = "FLOE_DBT_WARM_CLIENT"
#: Modules a dbt command imports only when it runs (beyond ``dbt.cli.main``).
_DBT_MODULES = (
    "dbt.cli.main",
    "dbt.task.build",
    "dbt.task.run",
    "dbt.task.test",
    "dbt.parser.manifest",
    "dbt.compilation",
    "dbt.adapters.factory",
)
#: A dbt child whose client disappeared gets this long after SIGINT before it is ended.
_ORPHAN_GRACE_S = 30.0
_STOP_TIMEOUT_S = 5.0


def dbt_executable() -> str | None:
    """``dbt`` on PATH, else the one installed beside this interpreter (a venv not activated)."""
    found = shutil.which("dbt")
    if found is not None:
        return found
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def is_own_dbt(executable: str) -> bool:
    """Whether ``executable`` is the ``dbt`` beside this interpreter (the one a warm server
    imports); a ``dbt`` from elsewhere on PATH is run as it is."""
    try:
        return Path(executable).resolve() == Path(sys.executable).with_name("dbt").resolve()
    except OSError:
        return False


def client_executable() -> str | None:
    """The client launcher of this process's warm server, when one is running."""
    path = os.environ.get(ENV_CLIENT)
    if path and os.environ.get(ENV_SOCKET) and os.access(path, os.X_OK):
        return path
    return None


class WarmDbt:
    """A warm dbt server for this process's dbt commands (see the module docstring).

    While open, :func:`client_executable` names the client launcher, which is the ``dbt``
    command to give dagster-dbt. ``adapters`` are dbt adapter types (``duckdb``) whose modules
    the server imports ahead; unknown ones are skipped.
    """

    def __init__(self, dbt_executable: str, adapters: Sequence[str] = ()) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="floe-dbt-"))
        self.socket_path = self._folder / "dbt.sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(16)
        self.client = self._folder / "dbt"
        # The folder that holds the floe_orchestrator_dagster package (two levels above dbt/).
        package_root = Path(warm_client.__file__).resolve().parents[2]
        self.client.write_text(
            f"#!{sys.executable} -S\n"
            "import sys\n"
            f"sys.path.insert(0, {str(package_root)!r})\n"
            "from floe_orchestrator_dagster.dbt.warm_client import main\n"
            "sys.exit(main())\n"
        )
        self.client.chmod(stat.S_IRWXU)
        self._server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "floe_orchestrator_dagster.dbt.warm",
                str(self._listener.fileno()),
                *adapters,
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            pass_fds=(self._listener.fileno(),),
            preexec_fn=die_with_parent(),  # noqa: PLW1509
        )
        # Only the server holds the listening socket now: once it is gone, a client's connect
        # is refused and the client runs the real dbt instead of waiting for an answer.
        self._listener.close()
        self._previous = {k: os.environ.get(k) for k in (ENV_SOCKET, ENV_FALLBACK, ENV_CLIENT)}
        os.environ[ENV_SOCKET] = str(self.socket_path)
        os.environ[ENV_FALLBACK] = dbt_executable
        os.environ[ENV_CLIENT] = str(self.client)

    @property
    def pid(self) -> int:
        return self._server.pid

    def close(self) -> None:
        """Stop the server (dbt commands it already forked finish on their own)."""
        for key, value in self._previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self._server.poll() is None:
            self._server.terminate()
            try:
                self._server.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> WarmDbt:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextlib.contextmanager
def warm_dbt(dbt_executable: str | None, adapters: Sequence[str] = ()) -> Iterator[None]:
    """A :class:`WarmDbt` for the block; nothing when ``dbt_executable`` is not this
    environment's own ``dbt`` (the server could only import ours), or it cannot start."""
    if (
        dbt_executable is None
        or not is_own_dbt(dbt_executable)
        or not hasattr(os, "fork")
        or not hasattr(socket, "AF_UNIX")
    ):
        yield
        return
    try:
        server = WarmDbt(dbt_executable, adapters)
    except OSError:
        yield  # dagster-dbt starts dbt itself, as without a warm server
        return
    with server:
        yield


# The server process ----------------------------------------------------------------------------


def _preload(adapters: Sequence[str]) -> None:
    for module in (*_DBT_MODULES, *(f"dbt.adapters.{a}" for a in adapters)):
        with contextlib.suppress(Exception):
            importlib.import_module(module)


def serve(listen_fd: int, adapters: Sequence[str] = ()) -> None:
    """Import dbt, then fork one dbt process per connection until terminated."""
    listener = socket.socket(fileno=listen_fd)
    _preload(adapters)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        connection, _ = listener.accept()
        frame = warm_client.read_frame(connection, max_fds=3)
        if frame is None:
            connection.close()
            continue
        payload, fds = frame
        if os.fork() == 0:  # the child: one dbt command, then exit as dbt does
            listener.close()
            sys.exit(_run_command(connection, json.loads(payload), fds))
        connection.close()
        for fd in fds:
            os.close(fd)


def _run_command(connection: socket.socket, request: dict[str, object], fds: list[int]) -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # dbt may wait for its own subprocesses
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, fd in zip((0, 1, 2), fds, strict=False):
        os.dup2(fd, target)
        os.close(fd)
    code = 2
    finished = threading.Event()
    try:
        warm_client.send_frame(connection, json.dumps({"pid": os.getpid()}).encode())
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        os.chdir(str(request["cwd"]))
        watcher = threading.Thread(target=_watch_client, args=(connection, finished), daemon=True)
        watcher.start()
        sys.stdout = _UnblockedStdout(1)
        code = _dbt_main([str(a) for a in request["argv"]])  # type: ignore[attr-defined]
    except BaseException as exc:  # report, then exit like a dbt that crashed
        with contextlib.suppress(Exception):
            sys.stderr.write(f"floe: dbt failed in the warm dbt server: {exc!r}\n")
    finally:
        finished.set()  # the client leaves once it has the status: that is no interrupt
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with contextlib.suppress(Exception):
            sys.stdout.close()  # everything dbt wrote is in the pipe before the status is sent
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            warm_client.send_frame(connection, json.dumps({"exit": code}).encode())
    return code


class _UnblockedStdout(io.TextIOBase):
    """dbt's standard output, written to ``fd`` by a thread of its own.

    dbt's threads log through one lock-guarded stream; when whoever reads the pipe (the run
    process, storing Dagster events) falls behind and the pipe's 64 KiB fill up, the thread
    holding the lock blocks in ``write`` and every dbt thread waits behind it. Here a write
    only queues the text: dbt runs at its own pace, the reader catches up, the order of the
    lines is kept, and :meth:`close` returns once everything is written.
    """

    encoding = "utf-8"

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._pending: collections.deque[str] = collections.deque()
        self._ready = threading.Condition()
        self._closing = False
        self._writer = threading.Thread(target=self._drain, name="floe-dbt-stdout", daemon=True)
        self._writer.start()

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._ready:
            self._pending.append(text)
            self._ready.notify()
        return len(text)

    def flush(self) -> None:
        """Nothing to wait for: lines reach the pipe in order as soon as it takes them."""

    def close(self) -> None:
        if self.closed:
            return
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._writer.join()
        super().close()

    def _drain(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._closing:
                    self._ready.wait()
                chunk = "".join(self._pending)
                self._pending.clear()
                done = self._closing
            data = chunk.encode("utf-8", "replace")
            with contextlib.suppress(OSError):  # a reader that is gone takes nothing more
                while data:
                    data = data[os.write(self._fd, data) :]
            if done:  # close() comes after dbt's last write
                return


def _dbt_main(argv: list[str]) -> int:
    """``dbt ARGV`` as its console script runs it, returning the exit status."""
    from dbt.cli.main import cli

    sys.argv = ["dbt", *argv]
    try:
        cli()
    except SystemExit as exit_:
        status = exit_.code
        return status if isinstance(status, int) else (0 if status is None else 1)
    except KeyboardInterrupt:
        return 130
    return 0


def _watch_client(connection: socket.socket, finished: threading.Event) -> None:
    """Interrupt this dbt when its client goes away (then end it after a grace period)."""
    with contextlib.suppress(OSError):
        while connection.recv(1024):
            pass
    if finished.is_set():
        return
    os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(_ORPHAN_GRACE_S, os._exit, args=(130,)).start()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2:])
