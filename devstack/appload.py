"""Import the Chalice app the way Lambda does: ``app.app`` from the project root."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def load_app(project_dir: Path = ROOT) -> Any:
    """Return the ``Chalice`` object of ``<project_dir>/app.py``."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    module = importlib.import_module("app")
    return module.app
