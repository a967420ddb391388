"""Account deletion on the running local stack: sign-in refused and the open socket closed
at once; the stack's scheduled run erases the rest (finishing a run that died halfway),
and the other side keeps its job, messages and review."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from devstack import provision
from devstack.harness import ROOT, wait_until
from tests.e2e.support import online_provider, post_request, somewhere
from tests.e2e.test_accounts import PASSWORD, refreshed, sign_up

pytestmark = pytest.mark.e2e

# A second worker of the erasure, as a Lambda container would run it: it takes the
# deletion on at once (beside the stack's own scheduled run) and dies (the process ends)
# when it reaches the "media" step; the stack's run must finish the deletion anyway.
DYING_WORKER = textwrap.dedent(
    """
    import os, sys
    from chalicelib.services import erasure
    from chalicelib.store import erasure as repo

    def die(item):
        print("died at media", flush=True)
        os._exit(3)

    erasure.STEPS = tuple((n, die if n == "media" else s) for n, s in erasure.STEPS)
    print("ready", flush=True)
    sys.stdin.readline()  # the test deleted the account: go
    item = repo.marker(sys.argv[1])
    print("marker found" if item else "no marker", flush=True)
    if item is not None:
        erasure.run(item)
    """
)


def customer_with_history(stack: Any, name: str, phone: str) -> dict[str, Any]:
    """A signed-up customer with a profile, a completed job with chat and a review."""
    email, tokens = sign_up(stack)
    stack.ok("POST", "/me/roles", tokens["IdToken"], json={"role": "customer"})
    token = refreshed(stack, tokens)
    me = stack.ok("PATCH", "/me", token, json={"name": name, "phone": phone})
    where = somewhere()
    provider = online_provider(stack, where)
    job = stack.ok("POST", f"/offers/{post_request(stack, token, where)['id']}/accept", provider)
    cid = job["conversation_id"]
    hello = {"client_msg_id": "z1", "text": f"Hello, {name} here"}
    stack.ok("POST", f"/conversations/{cid}/messages", token, json=hello)
    reply = {"client_msg_id": "p1", "text": "See you soon"}
    stack.ok("POST", f"/conversations/{cid}/messages", provider, json=reply)
    for state in ("en_route", "arrived", "in_progress", "completed"):
        stack.ok("POST", f"/jobs/{job['id']}/transitions", provider, json={"to": state})
    stack.ok("POST", f"/jobs/{job['id']}/reviews", token, json={"rating": 5, "text": "Great"})
    stack.ok("POST", f"/jobs/{job['id']}/reviews", provider, json={"rating": 4})  # published
    return {"id": me["id"], "email": email, "token": token, "provider": provider, "job": job}


def traces(stack: Any, needles: tuple[str, ...]) -> list[str]:
    """Every item of the stack's table and every media object key holding one of these."""
    db = stack.client("dynamodb")
    found = [
        f"{item['pk']['S']} {item['sk']['S']}"
        for page in db.get_paginator("scan").paginate(TableName=stack.env["SUMMON_TABLE"])
        for item in page["Items"]
        if any(n in json.dumps(item, ensure_ascii=False) for n in needles)
    ]
    s3 = stack.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.env["SUMMON_MEDIA_BUCKET"])
    return found + [
        o["Key"]
        for p in pages
        for o in p.get("Contents", [])
        if any(n in o["Key"] for n in needles)
    ]


def signs_in(stack: Any, email: str) -> bool:
    idp = stack.client("cognito-idp")
    try:
        idp.initiate_auth(
            ClientId=stack.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )
    except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotFoundException):
        return False
    return True


def test_a_deleted_account_is_refused_at_once_and_erased_while_the_other_side_keeps_its_job(
    stack: Any,
) -> None:
    name, phone = f"Zed {uuid.uuid4().hex[:6]}", "+351900000001"
    user = customer_with_history(stack, name, phone)
    token, provider, job = user["token"], user["provider"], user["job"]
    needles = (user["id"], user["email"], name, phone)
    assert traces(stack, needles)
    socket = connect(f"{stack.ws}/?token={token}", open_timeout=10)
    worker = subprocess.Popen(
        [sys.executable, "-c", DYING_WORKER, user["id"]],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SUMMON_"))},
            **provision.aws_env(stack.endpoint),
            **stack.env,
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    answer = stack.call("DELETE", "/me", token)
    assert worker.stdin is not None
    worker.stdin.write("go\n")  # the second worker takes the deletion on at once
    worker.stdin.flush()
    assert answer.status_code == 202 and answer.json() == {"status": "pending"}
    with pytest.raises(ConnectionClosed):
        socket.recv(timeout=10)
    assert not signs_in(stack, user["email"])
    refused = stack.call("GET", "/me", token)
    assert refused.status_code == 403 and refused.json()["detail"] == "This account is deleted."

    out, _ = worker.communicate(timeout=120)
    assert out.startswith("marker found") and worker.returncode != 0, out  # died halfway

    def deleted() -> bool:
        return bool(stack.ok("DELETE", "/me", token) == {"status": "deleted"})

    wait_until(deleted, "the stack's scheduled run finishing the deletion", timeout_s=90)
    assert traces(stack, needles) == []
    assert not signs_in(stack, user["email"])

    def connect_refused() -> bool:
        try:
            connect(f"{stack.ws}/?token={token}", open_timeout=10).close()
        except InvalidStatus as exc:
            return bool(exc.response.status_code == 403)
        return False

    wait_until(connect_refused, "the WebSocket refusing the deleted account", timeout_s=45)

    kept = stack.ok("GET", f"/jobs/{job['id']}", provider)
    assert kept["state"] == "completed" and kept["customer_id"].startswith("deleted-")
    messages = stack.ok("GET", f"/conversations/{job['conversation_id']}/messages", provider)
    assert [m["text"] for m in messages["items"]] == [
        "Hello, [deleted user] here",
        "See you soon",
    ]
    assert messages["items"][0]["sender_id"] == kept["customer_id"]
    reviews = stack.ok("GET", f"/providers/{job['provider_id']}/reviews", provider)["items"]
    assert ("Great", "customer") in [(r["text"], r["author_role"]) for r in reviews]
    author = stack.ok("GET", f"/providers/{kept['customer_id']}", provider)
    assert author["name"] == "Deleted user"
