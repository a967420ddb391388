"""The simulated app user's catch-up rule (bench/users.py; docs/realtime.md, the client
retry contract): a live ``chat.message`` whose ``seq`` skips one makes it read what is
missing, from the highest ``seq`` it has with none missing before it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from bench import users


class _Socket:
    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self.frames = frames

    def __aiter__(self) -> AsyncIterator[str]:
        return self._each()

    async def _each(self) -> AsyncIterator[str]:
        for frame in self.frames:
            yield json.dumps(frame)


def _message(seq: int) -> dict[str, Any]:
    data = {"id": f"m{seq}", "conversation_id": "c1", "seq": seq, "client_msg_id": f"k{seq}"}
    return {"type": "chat.message", "data": data}


def _read(frames: list[dict[str, Any]]) -> tuple[users.User, list[tuple[str, int]]]:
    user = users.User(None, "token", "u1", users.Tally(), users.Env(0.0))  # type: ignore[arg-type]
    asked: list[tuple[str, int]] = []

    async def catch_up(conversation: str) -> None:
        asked.append((conversation, user.upto(conversation)))

    user.catch_up = catch_up  # type: ignore[method-assign]

    async def run() -> None:
        await user._read(_Socket(frames))  # type: ignore[arg-type]
        await asyncio.gather(*user._tasks.values())

    asyncio.run(run())
    return user, asked


def test_messages_in_order_need_no_catch_up() -> None:
    user, asked = _read([_message(1), _message(2), _message(3)])
    assert asked == []
    assert user.upto("c1") == 3


def test_a_skipped_seq_catches_up_once_from_the_last_one_with_none_missing() -> None:
    user, asked = _read([_message(2), _message(3)])  # seq 1 was lost live
    assert asked == [("c1", 0)]  # after=0: seq 1 comes back, not only what follows 3
    assert user.upto("c1") == 0 and max(user.seen["c1"]) == 3
