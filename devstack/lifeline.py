"""The stack's processes end with their supervisor: a SIGKILL of ``python -m devstack``
leaves no emulator or server behind holding the ports and the state directory.

``exit_with_parent()`` in a child's ``main``: when ``DEVSTACK_SUPERVISOR_PID`` (set by the
supervisor) names this process's parent, a daemon thread checks twice a second that the
parent is still there and sends this process SIGTERM when it is gone. Without the variable
(the module run by hand) it does nothing.
"""

from __future__ import annotations

import os
import signal
import threading
import time

ENV = "DEVSTACK_SUPERVISOR_PID"


def exit_with_parent(period_s: float = 0.5) -> None:
    parent = os.environ.get(ENV, "")
    if not parent.isdigit() or int(parent) != os.getppid():
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(period_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
