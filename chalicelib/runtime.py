"""The composition point: everything a container builds once and keeps between invocations.

One :class:`Runtime` per container, built on first use by :func:`get`: the settings read
from the environment, the event wiring app.py composes (sinks, offline handlers), the
per-container caches (conversation participants, connection owners, the category catalog),
and whatever an adapter builds once through :meth:`Runtime.memo` (the
S3 and SNS clients, the WebSocket sender, the PynamoDB table connections, the idempotency
store, the token verifier, the OpenAPI document, the market settings). :func:`reset`
forgets all of it but the composition, so the next use reads the environment again: tests
call it before and after each test (tests/conftest.py) and nothing else.

Test seams are overrides of the current runtime (:func:`use`): ``runtime.use(sender=fake)``,
``runtime.use(sinks=[("feed", notifications.record)])``,
``runtime.use(settings=replace(runtime.settings(), ...))``; they last until the next reset.

Late imports, one rule (a cold start imports app.py, so what app.py imports at module
level is every cold start's cost; ``bench.cold_start`` measures it):

- the blueprints in ``chalicelib/api`` reach their services through :func:`lazy.module`;
- app.py wires the event sinks through :func:`lazy.function`;
- the edge modules app.py imports (``web``, ``auth``) reach their one heavy dependency
  through :func:`lazy.module` (the idempotency adapter; PyJWT);
- nowhere else imports late: services, stores and adapters import at module level.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib import config

if TYPE_CHECKING:
    from chalicelib.services.events import KeysFor, OfflineHandler, Sink

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

CACHED_IDS = 10_000
"""Entries a per-container id cache keeps before it forgets its oldest."""


class Bounded(dict[K, V]):
    """A dict that forgets its oldest entry once it holds ``limit`` (a per-container cache
    of facts that do not change, such as who holds a connection, or whose only change it
    may safely miss, such as a conversation's participants)."""

    def __init__(self, limit: int = CACHED_IDS) -> None:
        super().__init__()
        self.limit = limit
        self._lock = threading.Lock()  # the local stack's handler threads share one cache

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            if key not in self and len(self) >= self.limit:
                self.pop(next(iter(self)), None)
            super().__setitem__(key, value)


@dataclass(frozen=True)
class Composition:
    """What app.py wires: the event sinks and the offline handlers."""

    sinks: tuple[tuple[str, Sink], ...] = ()
    offline: tuple[tuple[str, OfflineHandler, KeysFor | None], ...] = ()


@dataclass
class Runtime:
    """This container's state (see the module doc). Fields are read by the module that owns
    each concern; tests replace them with :func:`use`."""

    settings: config.Settings
    sinks: list[tuple[str, Sink]] = field(default_factory=list)
    """The event sinks, in order (``services/events.py``)."""
    offline: list[tuple[str, OfflineHandler, KeysFor | None]] = field(default_factory=list)
    """What happens to events for users with no live socket (``services/events.py``)."""
    participants: Bounded[str, tuple[str, ...]] = field(default_factory=Bounded)
    """Conversation id → its participants, fixed but for account deletion's pseudonym
    (``services/chat.py``: :func:`participants` says why a stale entry is harmless)."""
    open_conversations: Bounded[str, bool] = field(default_factory=Bounded)
    """Quote conversations whose quote was accepted: open for good (``services/chat.py``)."""
    owners: Bounded[str, str] = field(default_factory=Bounded)
    """Connection id → its user, which never changes (``services/presence.py``)."""
    catalog: tuple[float, list[dict[str, Any]]] = (0.0, [])
    """The category catalog and when it was read (``store/profiles.py``)."""
    _built: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def memo(self, name: str, build: Callable[[], T]) -> T:
        """What ``build()`` returns, built on the first call with this ``name`` and kept
        until :func:`reset` (concurrent first calls build it once)."""
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return cast(T, self._built[name])


_composition = Composition()
_current: Runtime | None = None
_lock = threading.Lock()


def get() -> Runtime:
    """This container's runtime, built on first use (reads the environment then)."""
    current = _current
    if current is not None:
        return current
    return _build()


def _build() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            wired = _composition
            _current = Runtime(
                settings=config.load(),
                sinks=list(wired.sinks),
                offline=list(wired.offline),
            )
        return _current


def settings() -> config.Settings:
    """The settings of this container (read from the environment once per runtime)."""
    return get().settings


def compose(
    *,
    sinks: Iterable[tuple[str, Sink]] = (),
    offline: Iterable[tuple[str, OfflineHandler, KeysFor | None]] = (),
) -> None:
    """Wire the event sinks and offline handlers (app.py, once at import).
    The composition outlives :func:`reset`; the current runtime takes it at once."""
    global _composition
    _composition = Composition(tuple(sinks), tuple(offline))
    with _lock:
        if _current is not None:
            use(sinks=list(_composition.sinks), offline=list(_composition.offline))


def use(**overrides: Any) -> Runtime:
    """Replace parts of the current runtime until the next :func:`reset` (tests): a field
    by its name (``settings``, ``sinks``, ``offline``, ...), anything
    else as what :meth:`Runtime.memo` answers for that name (``sender``, ``s3``, ...)."""
    rt = get()
    names = {f.name for f in fields(rt) if not f.name.startswith("_")}
    with rt._lock:
        for name, value in overrides.items():
            if name in names:
                setattr(rt, name, value)
            else:
                rt._built[name] = value
    return rt


def reset() -> None:
    """Forget the runtime (settings, clients, caches, overrides; not the composition): the
    next use builds a fresh one from the environment."""
    global _current
    with _lock:
        _current = None
