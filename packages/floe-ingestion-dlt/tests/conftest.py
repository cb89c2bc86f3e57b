"""pytest runs with --import-mode=importlib: the tests import their helpers (``landing``) from
this folder, which is put on sys.path here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
