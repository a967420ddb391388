"""SQS: sending a message to one of the stage's queues (the exports queue)."""

from __future__ import annotations

from chalicelib import runtime
from chalicelib.adapters import aws_client


def send(queue_name: str, body: str) -> None:
    """Send ``body`` to the queue named ``queue_name`` (its URL looked up once per runtime)."""
    client = aws_client("sqs")
    url: str = runtime.get().memo(
        f"sqs-url:{queue_name}", lambda: str(client.get_queue_url(QueueName=queue_name)["QueueUrl"])
    )
    client.send_message(QueueUrl=url, MessageBody=body)
