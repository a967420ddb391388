"""dynamodb_calls: the DynamoDB calls one invocation of each route and event handler makes,
counted through botocore events on the real local stack (``devstack/meter.py``).

One metered stack runs the scripted job (``bench/scenario.py``) and then a tour that calls
every other route, every WebSocket action and every event handler at least once with valid
input (successful calls only are counted). Per route / handler it prints the invocations
seen, the calls of a typical one (median) and of the largest, the Scans, and the largest's
operations in order. Target: <= 4 calls per route, 0 Scans. Routes the run did not reach
are listed as such (a new route shows up here until the tour calls it).
"""

from __future__ import annotations

import io
import json
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import Any

import requests

from bench import scenario
from devstack import harness, meter

TARGET_CALLS = 4
WAIT_S = 30.0


def _png() -> bytes:
    from PIL import Image

    image = Image.frombytes("RGB", (64, 48), secrets.token_bytes(64 * 48 * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def tour(stack: harness.Stack, who: scenario.Cast, job_id: str, meter_file: Path) -> None:
    """Every route, WebSocket action and event handler the job did not use, once or more."""
    customer, (a, _b, c) = who.customer, who.providers
    ct, at, prov = customer.token, a.token, c.token
    for path in ("/health", "/openapi.json"):
        stack.ok("GET", path)
    stack.ok("GET", "/me", ct)
    stack.ok("PATCH", "/me", ct, json={"name": "Bench Customer"})
    got = stack.call("GET", "/me/settings", ct)
    stack.ok(
        "PUT",
        "/me/settings",
        ct,
        json={"locale": "en", "distance_unit": "km"},
        headers={"If-Match": got.headers.get("ETag", '"0"')},
    )
    stack.ok("GET", "/categories", ct)
    stack.ok("GET", f"/providers/{a.user_id}", ct)
    stack.ok("GET", f"/providers/{a.user_id}/reviews", ct)
    stack.ok("GET", "/requests", ct)
    stack.ok("GET", "/requests", prov)
    stack.ok("GET", "/jobs", ct)
    stack.ok("GET", f"/jobs/{job_id}", ct)
    stack.ok("GET", "/notifications", ct)
    conversations = stack.ok("GET", "/conversations", ct)["items"]
    cid = conversations[0]["id"]
    stack.ok("GET", f"/conversations/{cid}/messages?after=0", ct)
    sent = stack.ok(
        "POST", f"/conversations/{cid}/messages", ct, json={"client_msg_id": "http-1", "text": "Hi"}
    )
    stack.ok("POST", f"/conversations/{cid}/read", at, json={"seq": sent["seq"]})

    # an instant request declined by one provider, then cancelled by the customer
    body = {
        "category": scenario.CATEGORY,
        "description": "A dripping tap",
        "location": who.where,
        "mode": "instant",
    }
    request = stack.ok("POST", "/requests", ct, json=body)
    stack.ok("GET", f"/requests/{request['id']}", prov)
    offers = stack.ok("GET", "/offers", prov)["items"]
    mine = next(o for o in offers if o["request_id"] == request["id"])
    stack.ok("POST", f"/offers/{mine['id']}/decline", prov)
    stack.ok("POST", f"/requests/{request['id']}/cancel", ct)

    # quote mode: a quote, the customer reads and accepts it; the job goes en_route
    quote_req = stack.ok("POST", "/requests", ct, json={**body, "mode": "quote"})
    quote = stack.ok(
        "POST",
        f"/requests/{quote_req['id']}/quotes",
        at,
        json={"price": {"amount": "80.00", "currency": "EUR"}, "eta_minutes": 30, "note": "Ok"},
    )
    stack.ok("GET", f"/requests/{quote_req['id']}/quotes", ct)
    job = stack.ok("POST", f"/quotes/{quote['id']}/accept", ct)
    stack.ok("POST", f"/jobs/{job['id']}/transitions", at, json={"to": "en_route"})

    # the WebSocket actions the job did not send
    c_ws, a_ws = scenario.Socket(stack, ct), scenario.Socket(stack, at)
    a_ws.ping()
    a_ws.send(action="chat.typing", conversation_id=job["conversation_id"])
    c_ws.wait_for("chat.typing")
    c_ws.send(action="chat.read", conversation_id=cid, seq=sent["seq"])
    a_ws.send(
        action="location.update", job_id=job["id"], lat=who.where["lat"], lng=who.where["lng"]
    )
    c_ws.wait_for("job.location")
    stack.ok("GET", f"/jobs/{job['id']}/location", ct)
    c_ws.close()
    a_ws.close()

    # devices
    devices = stack.ok("GET", "/devices", ct)["items"]
    stack.call("DELETE", f"/devices/{devices[0]['id']}", ct)

    # media: presigned POST -> S3 -> SQS -> media_events, then the read
    data = _png()
    upload = stack.ok(
        "POST",
        "/uploads",
        ct,
        json={"purpose": "chat_image", "content_type": "image/png", "size_bytes": len(data)},
    )
    requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("p.png", data, "image/png")},
        timeout=30,
    )
    harness.wait_until(
        lambda: stack.ok("GET", f"/media/{upload['id']}", ct)["status"] != "pending",
        "the upload to be processed",
    )

    # an announcement through the SNS topic -> announcements_topic
    harness.wait_until(
        lambda: "sns handler announcements_topic reads" in stack.log.read_text(), "the pump"
    )
    stack.client("sns").publish(
        TopicArn=stack.env["SUMMON_ANNOUNCEMENTS_TOPIC_ARN"],
        Message=json.dumps({"title": "Bench", "body": "Benchmarks are running"}),
    )
    harness.wait_until(
        lambda: any(r["name"] == "announcements_topic" for r in meter.read(meter_file)),
        "the announcement handler",
    )


# --- the report --------------------------------------------------------------------------------


def _ok(record: dict[str, Any]) -> bool:
    status = record.get("status")
    return not record["error"] and (record["kind"] != "http" or (status or 500) < 400)


def _ops(ops: Iterable[str]) -> str:
    return " ".join(
        f"{op}x{n}" if n > 1 else op for op, n in ((k, len(list(g))) for k, g in groupby(ops))
    )


def expected_names(stack: harness.Stack) -> list[str]:
    """Every route of the API (from /openapi.json) and every handler the stack runs."""
    spec = stack.ok("GET", "/openapi.json")
    names = [
        f"{method.upper()} {path}"
        for path, methods in spec["paths"].items()
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    ]
    ws = ["$connect", "$disconnect"] + [
        f"$default {a}"
        for a in ("chat.send", "chat.typing", "chat.read", "location.update", "ping")
    ]
    return sorted(names) + ws


def report(records: list[dict[str, Any]], expected: list[str]) -> list[str]:
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if _ok(r):
            by_name[r["name"]].append(r)
    names = list(dict.fromkeys(expected + sorted(by_name)))
    rows, over, missing, scans, largest = [], [], [], 0, (0, "")
    for name in names:
        seen = by_name.get(name, [])
        if not seen:
            missing.append(name)
            continue
        calls = [r["dynamodb"]["calls"] for r in seen]
        typical, most = statistics.median_low(calls), max(calls)
        biggest = max(seen, key=lambda r: r["dynamodb"]["calls"])
        n_scans = sum(r["dynamodb"]["scans"] for r in seen)
        scans += n_scans
        is_route = seen[0]["kind"] in ("http", "ws")
        if is_route and typical > TARGET_CALLS:
            over.append(f"{name} ({typical})")
        largest = max(largest, (most, name))
        rows.append(
            f"  {name:44} {seen[0]['kind']:8} {len(seen):4} {typical:7} {most:7} {n_scans:5}  "
            f"{_ops(biggest['dynamodb']['ops'])}"
        )
    head = (
        f"dynamodb_calls: {len(names) - len(missing)}/{len(names)} routes and handlers measured, "
        f"largest {largest[0]} ({largest[1]}), {scans} Scans; "
        f"{len(over)} routes over {TARGET_CALLS} calls typically"
        f" (target <= {TARGET_CALLS} per route, 0 Scans)"
    )
    lines = [head]
    columns = f"{'kind':8} {'n':>4} {'median':>7} {'largest':>7} {'scans':>5}"
    lines.append(f"  {'route / handler':44} {columns}  largest's calls")
    lines += rows
    if over:
        lines.append("  over target: " + ", ".join(over))
    if missing:
        lines.append("  not exercised: " + ", ".join(missing))
    return lines


def measure() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-ddb-") as tmp:
        meter_file = Path(tmp) / "meter.jsonl"
        with harness.running(meter_file=meter_file) as stack:
            scenario.warm_up(stack)
            who = scenario.cast(stack)
            run = scenario.run_job(stack, who, meter_file)
            tour(stack, who, run.job_id, meter_file)
            time.sleep(1.5)  # a few more timer sweeps
            expected = expected_names(stack)
        return report(meter.read(meter_file), expected)


def main() -> None:
    print("\n".join(measure()), flush=True)


if __name__ == "__main__":
    main()
