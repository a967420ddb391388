"""SQS: sending messages to the app's own queues (the exports queue, the announcements'
fan-out queue)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib import runtime
from chalicelib.adapters import aws_client

BATCH = 10
"""SendMessageBatch takes at most 10 messages."""


class NotSent(Exception):
    """Some messages of a batch were refused (the caller fails, so its trigger retries)."""


def queue_url(name: str) -> str:
    """The URL of a queue by name, looked up once per container (1 GetQueueUrl)."""
    url: str = runtime.get().memo(
        f"sqs-url:{name}", lambda: aws_client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    )
    return url


def send(queue: str, body: str) -> None:
    """Send ``body`` as one message of ``queue``: 1 SendMessage."""
    aws_client("sqs").send_message(QueueUrl=queue_url(queue), MessageBody=body)


def send_all(queue: str, bodies: Sequence[dict[str, Any]]) -> None:
    """Send each body (JSON) as one message of ``queue``: 1 SendMessageBatch per 10. Raises
    :class:`NotSent` when SQS refused any (those sent before stay sent)."""
    url = queue_url(queue)
    for start in range(0, len(bodies), BATCH):
        chunk = bodies[start : start + BATCH]
        answer = aws_client("sqs").send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(b, separators=(",", ":"))}
                for i, b in enumerate(chunk)
            ],
        )
        if answer.get("Failed"):
            raise NotSent(f"{len(answer['Failed'])} of {len(chunk)} messages refused by {queue}")
