"""Child processes that die with their parent, and orphans that come back to it (Linux).

Both the local runtime (``floe up``'s webserver and daemon) and the warm dbt server start
processes that must not outlive the process that started them, even when it is killed with
``SIGKILL``:

- :func:`die_with_parent` is a ``preexec_fn`` that sets ``prctl(PR_SET_PDEATHSIG, SIGTERM)``
  in the child: the kernel sends it ``SIGTERM`` when the parent dies. (The signal fires when
  the *thread* that started the child exits, so start children from a long-lived thread.)
- :func:`become_subreaper` sets ``PR_SET_CHILD_SUBREAPER``: grandchildren orphaned by a child
  are re-parented to this process instead of ``init``, so they can be found and stopped.

Other systems have no such calls: there both do nothing. Standard library only (the warm dbt
server imports this).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["become_subreaper", "die_with_parent"]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux); True when it worked."""
    libc = _libc()
    return libc is not None and libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _die_with_parent(libc: ctypes.CDLL | None, parent: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` making the child get SIGTERM when this process dies (Linux)."""
    return _die_with_parent(_libc(), os.getpid())
