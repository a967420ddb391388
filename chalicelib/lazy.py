"""Modules imported on first use, for a short cold start.

Chalice registers every route, WebSocket and event handler from ``app.py``, so importing the
app imports every capability's blueprint. :func:`module` lets a blueprint declare its routes
at import while its services, stores and adapters (PynamoDB, boto3) load when one of its
handlers first runs; :func:`function` does the same for a callback wired at import (the
event sinks). Where each is used is one rule, stated in ``chalicelib/runtime.py``.

Typing stays exact: import the real modules under ``TYPE_CHECKING``, assign the proxies
otherwise::

    if TYPE_CHECKING:
        from chalicelib.services import jobs
    else:
        jobs = lazy.module("chalicelib.services.jobs")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it on the first attribute access (through
    the import system's lock, so concurrent first uses import it once). Attributes are
    looked up on the module every time, so tests that patch the module are honoured."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def module(name: str) -> Any:
    """A stand-in for ``import name`` that imports it on first use."""
    return LazyModule(name)


def function(module_name: str, attr: str) -> Callable[..., Any]:
    """``module_name.attr`` as a callable that imports its module on the first call (for
    callbacks registered at import, e.g. the event sinks in app.py)."""
    target = LazyModule(module_name)

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(target, attr)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attr
    call.__doc__ = f"{module_name}.{attr}, imported on first call."
    return call
