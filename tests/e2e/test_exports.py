"""A data export on the running local stack: POST, the export.ready frame on the user's
socket (delivered by the event pump through the exports queue), GET, the download of the
presigned URL from the emulator's S3, and an archive that matches the table."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import pytest
import requests
from websockets.sync.client import connect

from tests.api.test_exports import where
from tests.e2e.support import online_provider, post_request, somewhere

pytestmark = pytest.mark.e2e


def frame_of_type(socket: Any, type_: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {type_} frame"
        frame = json.loads(socket.recv(timeout=left))
        if frame.get("type") == type_:
            return dict(frame)


def items_naming(stack: Any, user_id: str) -> list[dict[str, Any]]:
    table = stack.client("dynamodb")
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer().deserialize
    items: list[dict[str, Any]] = []
    args: dict[str, Any] = {"TableName": stack.env["SUMMON_TABLE"]}
    while True:
        page = table.scan(**args)
        items += [{k: plain(v) for k, v in row.items()} for row in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [i for i in items if user_id in json.dumps(i, default=str)]


def test_an_export_is_announced_live_downloads_and_matches_the_table(stack):
    spot = somewhere()
    provider = online_provider(stack, spot)
    _, token = stack.new_account("customers")
    me = stack.ok("GET", "/me", token)
    request = post_request(stack, token, spot)
    offer = next(
        o for o in stack.ok("GET", "/offers", provider)["items"] if o["request_id"] == request["id"]
    )
    job = stack.ok("POST", f"/offers/{offer['id']}/accept", provider)
    said = {"client_msg_id": "e2e-1", "text": "See you soon"}
    stack.ok("POST", f"/conversations/{job['conversation_id']}/messages", token, json=said)

    with connect(f"{stack.ws}/?token={token}", open_timeout=10) as socket:
        started = stack.call("POST", "/me/exports", token)
        assert started.status_code == 202, started.text
        export_id = started.json()["id"]
        ready = frame_of_type(socket, "export.ready")
        assert ready["data"]["id"] == export_id and ready["data"]["status"] == "ready"
        assert ready["data"]["url"] is None  # the URL is read with GET, fresh

        body = stack.ok("GET", f"/me/exports/{export_id}", token)
        assert body["status"] == "ready" and body["url"].startswith(stack.endpoint)
        download = requests.get(body["url"], timeout=30)
        assert download.status_code == 200
        assert len(download.content) == body["size_bytes"]
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        assert archive.testzip() is None
        docs = {n: json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")}

        assert docs["profile.json"]["user_id"] == me["id"]
        assert [r["request_id"] for r in docs["requests.json"]] == [request["id"]]
        assert [j["job_id"] for j in docs["jobs.json"]] == [job["id"]]
        texts = [m["text"] for c in docs["messages.json"] for m in c["messages"]]
        assert "See you soon" in texts
        assert docs["devices.json"]["connections"]  # this very socket
        everything = {name: json.dumps(doc) for name, doc in docs.items()}
        for item in items_naming(stack, me["id"]):
            if item.get("kind") == "notification" and item.get("type") == "export.ready":
                continue  # written after the archive, about it
            place = where(item, me["id"])
            assert place is not None, item
            name, ref = place
            text = "\n".join(everything.values()) if name == "*" else everything[name]
            assert ref in text, (name, ref, item)

    other_token = stack.new_account("customers")[1]
    assert stack.call("GET", f"/me/exports/{export_id}", other_token).status_code == 404
