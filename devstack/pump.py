"""The local event pump: delivers SQS, SNS, S3 and scheduled events to the app's handlers.

In the cloud, Lambda event source mappings, SNS/S3 invocations and EventBridge rules call
the app's ``@app.on_sqs_message`` / ``on_sns_message`` / ``on_s3_event`` / ``schedule``
functions. Locally nothing does, so this pump plays those parts against the AWS emulator
(moto server, ``AWS_ENDPOINT_URL``)::

    pump = EventPump(app, endpoint_url="http://127.0.0.1:5000", region="us-east-1")
    pump.start()        # returns at once; sources are set up and polled in threads
    ...
    pump.stop()         # stops polling, waits for deliveries in flight

or ``python -m devstack.pump [--endpoint-url URL] [--region R] [--schedule-period S]``.

Handlers are **discovered** from ``app.event_sources`` (the ``*EventConfig`` objects the
Chalice decorators register) and invoked through ``app.handler_map[name]`` with
``(event, context)``, the wrapped handler Lambda itself calls; so a new decorated handler
needs no change here. Each invocation runs in its own thread-pool worker; a failure is
logged with the handler's name and never stops the pump.

What is emulated
----------------
* ``on_sqs_message(queue=... | queue_arn=..., batch_size=...)``: the queue is long-polled
  (``WaitTimeSeconds``), up to ``batch_size`` messages are passed in one SQS event (more
  than 10 are gathered over ``maximum_batching_window_in_seconds``, as Lambda does), and
  the batch is deleted only when the handler returns. If it raises, the messages stay
  and come back after the queue's visibility timeout, as with Lambda; a redrive policy
  on the queue then moves them to the dead-letter queue after ``maxReceiveCount``
  receives (moto implements that on receive, as SQS does). ``batchItemFailures``
  responses are ignored: Chalice never enables ``ReportBatchItemFailures``. In-flight
  batches per handler are capped by ``maximum_concurrency`` (default 4 locally).
* ``on_sns_message(topic=name | arn)``: SNS invokes Lambda asynchronously, one record per
  message. The pump creates (idempotently) a queue ``devstack-pump-<handler>``, subscribes
  it to the topic and turns each envelope into an ``aws:sns`` record (``Sns.Message``,
  ``MessageId``, ``TopicArn``, ``Subject``, ``Timestamp``, ``MessageAttributes``...).
  Like Lambda's asynchronous invocation, a failing message is retried (after
  ``retry_delay_s``) and dropped after 3 attempts.
* ``on_s3_event(bucket, events, prefix, suffix)``: the same, through a pump-owned queue
  named in the bucket's notification configuration (merged with what is there, e.g. the
  app's own S3 → SQS routing, which then reaches an ``on_sqs_message`` handler through
  the first bullet). The ``s3:TestEvent`` S3 sends on configuration is skipped. Note the
  configuration is set when the pump starts: provisioning that rewrites the bucket's
  notifications afterwards drops the pump's entry (restart the pump).
* ``schedule(...)``: every schedule handler is invoked every ``schedule_period_s``
  (default 5 s, whatever the expression says) with an EventBridge ``Scheduled Event``.
  A run that is still going when the next is due is skipped, not stacked.

A topic, queue or bucket that does not exist yet is retried every few seconds, so the pump
may start before provisioning finishes.

Not delivered: ``on_cw_event`` patterns, Kinesis and DynamoDB streams (logged once at
start). DynamoDB streams would slot in as one more source kind: enable the stream in
provisioning, pass its ARN to ``on_dynamodb_record(stream_arn=...)`` through an
environment variable, then here ``dynamodbstreams.describe_stream`` → for each shard
``get_shard_iterator(ShardIteratorType=starting_position)`` → loop ``get_records`` and
hand batches of ``batch_size`` records (``eventSource`` ``aws:dynamodb``, ``eventName``,
``dynamodb.Keys/NewImage/OldImage/SequenceNumber``, ``eventSourceARN``) to the handler,
advancing the iterator only when it returns (a failure blocks the shard, as on Lambda).
moto's server implements those three calls.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Self

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import (
    BaseEventSourceConfig,
    S3EventConfig,
    ScheduledEventConfig,
    SNSEventConfig,
    SQSEventConfig,
)
from chalice.local import LambdaContext

from devstack import events, lifeline, logs

LOG = logging.getLogger("devstack.pump")

DEFAULT_SCHEDULE_PERIOD_S = 5.0
DEFAULT_WAIT_TIME_S = 1
DEFAULT_RETRY_DELAY_S = 2
DEFAULT_CONCURRENCY = 4
ASYNC_ATTEMPTS = 3  # Lambda asynchronous invocation: the first try and two retries
HANDLER_TIMEOUT_S = 60.0
QUEUE_PREFIX = "devstack-pump-"
_SETUP_RETRY_S = 3.0


def _queue_name_for(kind: str, handler: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{QUEUE_PREFIX}{kind}-{handler}")
    return name[:80]


@dataclass
class _Source:
    """One discovered event source and its polling state."""

    config: BaseEventSourceConfig
    kind: str  # "sqs" | "sns" | "s3"
    queue_url: str | None = None
    queue_arn: str | None = None
    subscription_arn: str = ""
    ready: bool = False
    warned: bool = False
    slots: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1))

    @property
    def name(self) -> str:
        return self.config.name


class EventPump:
    """Delivers the emulator's events to the Chalice app's event handlers (module doc).

    Args:
        app: the ``Chalice`` object.
        endpoint_url: the AWS emulator, e.g. ``http://127.0.0.1:5000``.
        region: region of the emulated resources (and of ``awsRegion`` in records).
        schedule_period_s: seconds between runs of every ``@app.schedule`` handler.
        wait_time_s: SQS long-poll wait (short, so ``stop()`` is quick).
        retry_delay_s: visibility timeout of the pump's own SNS/S3 queues, i.e. the
            delay before a failed asynchronous delivery is retried.
        max_workers: threads running handlers.
        stage: used in function names and rule ARNs only.
    """

    def __init__(
        self,
        app: Any,
        *,
        endpoint_url: str,
        region: str,
        schedule_period_s: float = DEFAULT_SCHEDULE_PERIOD_S,
        wait_time_s: int = DEFAULT_WAIT_TIME_S,
        retry_delay_s: int = DEFAULT_RETRY_DELAY_S,
        max_workers: int = 16,
        stage: str = "local",
    ) -> None:
        self.app = app
        self.endpoint_url = endpoint_url
        self.region = region
        self.schedule_period_s = schedule_period_s
        self.wait_time_s = wait_time_s
        self.retry_delay_s = retry_delay_s
        self.stage = stage
        self._max_workers = max_workers
        session = boto3.session.Session(region_name=region)
        creds: dict[str, str] = {}
        if session.get_credentials() is None:  # the emulator accepts any key
            creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self._sqs = session.client("sqs", endpoint_url=endpoint_url, **creds)
        self._sns = session.client("sns", endpoint_url=endpoint_url, **creds)
        self._s3 = session.client("s3", endpoint_url=endpoint_url, **creds)
        self._sts = session.client("sts", endpoint_url=endpoint_url, **creds)
        self._account: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        self.sources, self.schedules = self._discover()

    # ------------------------------------------------------------------ discovery

    def _discover(self) -> tuple[list[_Source], list[ScheduledEventConfig]]:
        sources: list[_Source] = []
        schedules: list[ScheduledEventConfig] = []
        kinds = {SQSEventConfig: "sqs", SNSEventConfig: "sns", S3EventConfig: "s3"}
        for config in self.app.event_sources:
            kind = kinds.get(type(config))
            if kind is not None:
                limit = getattr(config, "maximum_concurrency", None) or DEFAULT_CONCURRENCY
                sources.append(_Source(config, kind, slots=threading.Semaphore(limit)))
            elif isinstance(config, ScheduledEventConfig):
                schedules.append(config)
            else:
                LOG.warning("%s (%s) is not delivered locally", config.name, type(config).__name__)
        return sources, schedules

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start one poller thread per queue-backed source and one scheduler thread."""
        if self._pool is not None:
            raise RuntimeError("pump already started")
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="pump-handler")
        for source in self.sources:
            thread = threading.Thread(
                target=self._poll_forever, args=(source,), name=f"pump-{source.name}", daemon=True
            )
            self._threads.append(thread)
        if self.schedules:
            self._threads.append(
                threading.Thread(target=self._schedule_forever, name="pump-schedule", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        LOG.info(
            "event pump on %s: %s",
            self.endpoint_url,
            ", ".join(
                [f"{s.kind}:{s.name}" for s in self.sources]
                + [f"schedule:{s.name}" for s in self.schedules]
            )
            or "no event handlers",
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling and wait (up to ``timeout``) for deliveries in flight."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.1))
        self._threads = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until every queue-backed source is set up (queues, subscriptions)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.ready for s in self.sources):
                return True
            time.sleep(0.05)
        return all(s.ready for s in self.sources)

    # ------------------------------------------------------------------ invoking

    @property
    def account(self) -> str:
        if self._account is None:
            try:
                self._account = str(self._sts.get_caller_identity()["Account"])
            except (BotoCoreError, ClientError):
                self._account = "123456789012"
        return self._account

    def _call(self, name: str, event: dict[str, Any]) -> Any:
        """Invoke the handler registered as ``name`` exactly as Lambda does."""
        context = LambdaContext(
            function_name=f"{self.app.app_name}-{self.stage}-{name}",
            memory_size=128,
            max_runtime_ms=int(HANDLER_TIMEOUT_S * 1000),
        )
        return self.app.handler_map[name](event, context)

    def _submit(
        self, source_name: str, fn: Callable[[], None], on_done: Callable[[], None]
    ) -> None:
        assert self._pool is not None
        try:
            future: Future[None] = self._pool.submit(fn)
        except RuntimeError:  # pool shut down while stopping
            on_done()
            return

        def done(f: Future[None]) -> None:
            on_done()
            if not f.cancelled() and f.exception() is not None:
                LOG.error("delivery to %s crashed: %r", source_name, f.exception())

        future.add_done_callback(done)

    # ------------------------------------------------------------------ queue sources

    def _poll_forever(self, source: _Source) -> None:
        while not self._stop.is_set():
            try:
                if not source.ready:
                    self._setup(source)
                    source.ready = True
                    LOG.info("%s handler %s reads %s", source.kind, source.name, source.queue_url)
                self._poll_once(source)
            except Exception as exc:
                if not source.ready:
                    if not source.warned:
                        LOG.warning(
                            "%s handler %s not set up yet (%s); retrying",
                            source.kind,
                            source.name,
                            exc,
                        )
                        source.warned = True
                    self._stop.wait(_SETUP_RETRY_S)
                else:
                    LOG.exception("polling for %s failed; retrying", source.name)
                    self._stop.wait(1.0)

    def _setup(self, source: _Source) -> None:
        config = source.config
        if isinstance(config, SQSEventConfig):
            name = config.queue or (config.queue_arn or "").rsplit(":", 1)[-1]
            source.queue_url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
            source.queue_arn = self._queue_arn(source.queue_url)
        elif isinstance(config, SNSEventConfig):
            topic_arn = self._topic_arn(config.topic)
            self._own_queue(source)
            source.subscription_arn = self._sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=source.queue_arn,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        elif isinstance(config, S3EventConfig):
            self._s3.head_bucket(Bucket=config.bucket)
            self._own_queue(source)
            self._configure_bucket(config, source)

    def _queue_arn(self, queue_url: str) -> str:
        attrs = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        return str(attrs["Attributes"]["QueueArn"])

    def _own_queue(self, source: _Source) -> None:
        """Create (idempotently) the pump's queue for an SNS/S3 source."""
        url = self._sqs.create_queue(
            QueueName=_queue_name_for(source.kind, source.name),
            Attributes={"VisibilityTimeout": str(self.retry_delay_s)},
        )["QueueUrl"]
        source.queue_url = url
        source.queue_arn = self._queue_arn(url)

    def _topic_arn(self, topic: str) -> str:
        if topic.startswith("arn:"):
            self._sns.get_topic_attributes(TopicArn=topic)  # raises until it exists
            return topic
        for page in self._sns.get_paginator("list_topics").paginate():
            for item in page.get("Topics", []):
                if item["TopicArn"].rsplit(":", 1)[-1] == topic:
                    return str(item["TopicArn"])
        raise LookupError(f"no SNS topic named {topic!r}")

    def _configure_bucket(self, config: S3EventConfig, source: _Source) -> None:
        """Add the pump's queue to the bucket's notifications, keeping everything else."""
        current = self._s3.get_bucket_notification_configuration(Bucket=config.bucket)
        config_id = _queue_name_for("s3", config.name)
        queues = [q for q in current.get("QueueConfigurations", []) if q.get("Id") != config_id]
        entry: dict[str, Any] = {
            "Id": config_id,
            "QueueArn": source.queue_arn,
            "Events": list(config.events),
        }
        rules = [
            {"Name": name, "Value": value}
            for name, value in (("prefix", config.prefix), ("suffix", config.suffix))
            if value
        ]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        notification: dict[str, Any] = {
            key: current[key]
            for key in (
                "TopicConfigurations",
                "LambdaFunctionConfigurations",
                "EventBridgeConfiguration",
            )
            if key in current
        }
        notification["QueueConfigurations"] = [*queues, entry]
        self._s3.put_bucket_notification_configuration(
            Bucket=config.bucket, NotificationConfiguration=notification
        )

    def _receive(self, source: _Source, max_messages: int, window_s: float) -> list[dict[str, Any]]:
        """Long-poll once; with a batching window, keep gathering up to ``max_messages``."""
        kwargs: dict[str, Any] = {
            "QueueUrl": source.queue_url,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            MaxNumberOfMessages=min(10, max_messages), WaitTimeSeconds=self.wait_time_s, **kwargs
        ).get("Messages", [])
        deadline = time.monotonic() + window_s
        while messages and len(messages) < max_messages and time.monotonic() < deadline:
            batch = self._sqs.receive_message(
                MaxNumberOfMessages=min(10, max_messages - len(messages)),
                WaitTimeSeconds=0,
                **kwargs,
            ).get("Messages", [])
            messages.extend(batch)
            if not batch:
                self._stop.wait(min(0.1, max(deadline - time.monotonic(), 0)))
        return messages

    def _poll_once(self, source: _Source) -> None:
        if not source.slots.acquire(timeout=self.wait_time_s):
            return  # every delivery slot busy
        released = False
        try:
            config = source.config
            if isinstance(config, SQSEventConfig):
                window = float(config.maximum_batching_window_in_seconds or 0)
                messages = self._receive(source, max(config.batch_size, 1), window)
            else:
                messages = self._receive(source, 1, 0)
            if not messages:
                return
            released = True
            self._submit(source.name, lambda: self._deliver(source, messages), source.slots.release)
        finally:
            if not released:
                source.slots.release()

    def _deliver(self, source: _Source, messages: list[dict[str, Any]]) -> None:
        if source.kind == "sqs":
            self._deliver_sqs(source, messages)
        else:
            for message in messages:
                self._deliver_async(source, message)

    def _delete(self, source: _Source, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )

    def _deliver_sqs(self, source: _Source, messages: list[dict[str, Any]]) -> None:
        assert source.queue_arn is not None
        event = {
            "Records": [
                events.sqs_record(m, queue_arn=source.queue_arn, region=self.region)
                for m in messages
            ]
        }
        try:
            self._call(source.name, event)
        except Exception:
            LOG.exception(
                "SQS handler %s failed on %d message(s); they will be redelivered",
                source.name,
                len(messages),
            )
            return
        self._delete(source, messages)

    def _deliver_async(self, source: _Source, message: dict[str, Any]) -> None:
        """One SNS/S3 notification, with Lambda's async retry semantics."""
        body = message.get("Body", "")
        try:
            if source.kind == "sns":
                record = events.sns_record_from_envelope(
                    json.loads(body), subscription_arn=source.subscription_arn
                )
                event: dict[str, Any] | None = {"Records": [record]}
            else:
                records = events.s3_records_from_body(body)
                event = {"Records": records} if records else None
        except (ValueError, KeyError, TypeError):
            LOG.error("%s: dropping a notification that is not valid: %.200s", source.name, body)
            self._delete(source, [message])
            return
        if event is not None:
            try:
                self._call(source.name, event)
            except Exception:
                attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                if attempts < ASYNC_ATTEMPTS:
                    LOG.exception(
                        "%s handler %s failed (attempt %d of %d); retrying in %ss",
                        source.kind,
                        source.name,
                        attempts,
                        ASYNC_ATTEMPTS,
                        self.retry_delay_s,
                    )
                    return
                LOG.exception(
                    "%s handler %s failed %d times; event dropped",
                    source.kind,
                    source.name,
                    attempts,
                )
        self._delete(source, [message])

    # ------------------------------------------------------------------ schedules

    def _schedule_forever(self) -> None:
        busy = {config.name: threading.Event() for config in self.schedules}
        while not self._stop.wait(self.schedule_period_s):
            for config in self.schedules:
                flag = busy[config.name]
                if flag.is_set():
                    LOG.debug("schedule %s still running; tick skipped", config.name)
                    continue
                flag.set()
                self._submit(config.name, functools.partial(self._run_schedule, config), flag.clear)

    def _run_schedule(self, config: ScheduledEventConfig) -> None:
        rule_arn = (
            f"arn:aws:events:{self.region}:{self.account}:rule/"
            f"{self.app.app_name}-{self.stage}-{config.name}-event"
        )
        event = events.scheduled_event(rule_arn=rule_arn, region=self.region, account=self.account)
        try:
            self._call(config.name, event)
        except Exception:
            LOG.exception("schedule handler %s failed", config.name)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m devstack.pump``: pump events to the app in ``app.py`` until stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.pump", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        help="the AWS emulator (default: $AWS_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    parser.add_argument(
        "--schedule-period", type=float, default=DEFAULT_SCHEDULE_PERIOD_S, metavar="S"
    )
    parser.add_argument("--wait-time", type=int, default=DEFAULT_WAIT_TIME_S, metavar="S")
    parser.add_argument("--retry-delay", type=int, default=DEFAULT_RETRY_DELAY_S, metavar="S")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logs.configure(args.log_level)
    lifeline.exit_with_parent()
    os.environ.setdefault("AWS_REGION", args.region)

    from devstack import faults, meter
    from devstack.appload import load_app

    follower = faults.follow("pump")
    if follower is not None:
        faults.crash_media_handler(follower)  # before the app builds its clients
    pump = EventPump(
        meter.maybe_load(load_app, "pump"),
        endpoint_url=args.endpoint_url,
        region=args.region,
        schedule_period_s=args.schedule_period,
        wait_time_s=args.wait_time,
        retry_delay_s=args.retry_delay,
        stage=args.stage,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    pump.start()
    while not stop.wait(0.5):
        pass
    pump.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
