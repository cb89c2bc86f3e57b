"""A product's own Python code: a function imported from a file of the product, by path.

Python assets (``pipeline/ingest.py:load``) and dlt sources (``pipeline/shop.py:shop``) name a
function in a file beside ``floe.yaml``. :func:`load_product_function` imports the file under a
private module name derived from its absolute path (so a product needs no package layout and no
``sys.path`` change, and two products' ``ingest.py`` never collide), once per process, and
returns the function. Every problem is raised as the caller's error class, naming the caller
(``where``), the file and the fix. Standard library only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from floe_orchestration_core.errors import FloeError

__all__ = ["load_product_function"]


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return f"floe_product_asset_{path.stem}_{digest}"


def load_product_function(
    path: Path,
    function: str,
    *,
    where: str,
    missing_hint: str,
    error: type[FloeError],
) -> Callable[..., Any]:
    """The function ``function`` of the Python file ``path`` (absolute), imported once.

    ``where`` names the caller in messages (``"python asset 'load'"``); ``missing_hint`` is the
    fix appended when the file does not exist; problems raise ``error``.
    """
    if not path.is_file():
        raise error(f"{where}: file {path} does not exist; {missing_hint}")
    name = _module_name(path)
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise error(f"{where}: {path} cannot be imported as a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise error(f"{where}: importing {path} failed: {type(exc).__name__}: {exc}") from exc
    found = getattr(module, function, None)
    if found is None or not callable(found):
        defined = sorted(
            n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
        )
        raise error(
            f"{where}: {path} has no function '{function}'"
            f"{'; it defines: ' + ', '.join(defined) if defined else ''}"
        )
    return found  # type: ignore[no-any-return]
