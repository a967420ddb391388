"""One logging setup for every devstack process: our lines, not the libraries' chatter."""

from __future__ import annotations

import logging

QUIET = ("pynamodb", "botocore", "urllib3", "werkzeug", "websockets")


def configure(
    level: int | str = logging.INFO, fmt: str = "%(asctime)s %(name)s %(message)s"
) -> None:
    logging.basicConfig(level=level, format=fmt)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
