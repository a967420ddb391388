"""Accounts on the running local stack: a self-service sign-up takes a role and asks for
a service; an operator's suspension closes the account's sockets and refuses it on HTTP
and WebSocket; restoring lets it back in."""

from __future__ import annotations

import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from devstack.harness import wait_until
from tests.e2e.support import online_provider, post_request, somewhere

pytestmark = pytest.mark.e2e
PASSWORD = "Sign-up-2026"


def sign_up(stack) -> tuple[str, dict[str, str]]:
    """A sign-up as the app makes it (confirmed by the local admin instead of an emailed
    code): its email and the tokens of its first sign-in."""
    idp = stack.client("cognito-idp")
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    idp.sign_up(
        ClientId=stack.client_id,
        Username=email,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    idp.admin_confirm_sign_up(UserPoolId=stack.pool_id, Username=email)
    auth = idp.initiate_auth(
        ClientId=stack.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return email, auth


def refreshed(stack, tokens: dict[str, str]) -> str:
    result = stack.client("cognito-idp").initiate_auth(
        ClientId=stack.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )
    return str(result["AuthenticationResult"]["IdToken"])


def test_a_sign_up_takes_a_role_and_asks_for_a_service(stack):
    _, tokens = sign_up(stack)
    first = tokens["IdToken"]
    assert stack.ok("GET", "/me", first)["roles"] == []
    where = {**somewhere(), "address": "Rua Nova 1"}
    body = {"category": "plumbing", "description": "Tap", "location": where, "mode": "instant"}
    assert stack.call("POST", "/requests", first, json=body).status_code == 403
    role = stack.ok("POST", "/me/roles", first, json={"role": "customer"})
    assert role == {"roles": ["customers"], "provider_verification": None, "refresh_token": True}
    token = refreshed(stack, tokens)
    made = stack.call("POST", "/requests", token, json=body)
    assert made.status_code == 201, made.text
    assert stack.ok("GET", "/me", token)["roles"] == ["customers"]


def test_a_suspended_account_is_refused_on_http_and_websocket_until_restored(stack):
    email, tokens = sign_up(stack)
    stack.ok("POST", "/me/roles", tokens["IdToken"], json={"role": "customer"})
    token = refreshed(stack, tokens)
    me = stack.ok("GET", "/me", token)
    _, staff = stack.new_account("operators")
    socket = connect(f"{stack.ws}/?token={token}", open_timeout=10)

    done = stack.ok("POST", f"/admin/users/{me['id']}/suspend", staff, json={"reason": "spam"})
    assert done["sockets_closed"] == 1
    with pytest.raises(ConnectionClosed):
        socket.recv(timeout=10)
    refused = stack.call("GET", "/me", token)
    assert refused.status_code == 403 and "suspended" in refused.json()["detail"]

    def connect_refused() -> bool:
        try:
            connect(f"{stack.ws}/?token={token}", open_timeout=10).close()
        except InvalidStatus as exc:
            return exc.response.status_code == 403
        return False

    wait_until(connect_refused, "the WebSocket refusing the suspended account", timeout_s=45)
    idp = stack.client("cognito-idp")
    with pytest.raises(idp.exceptions.NotAuthorizedException):  # sign-in disabled
        idp.initiate_auth(
            ClientId=stack.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )

    stack.ok("POST", f"/admin/users/{me['id']}/restore", staff, json={})
    assert stack.call("GET", "/me", token).status_code == 200
    log = stack.ok("GET", "/admin/audit", staff)["items"]
    assert [e["action"] for e in log[:2]] == ["user.restore", "user.suspend"]


def test_a_reported_message_is_removed_and_its_author_suspended(stack):
    where = somewhere()
    provider = online_provider(stack, where)
    _, customer = stack.new_account("customers")
    request = post_request(stack, customer, where)
    job = stack.ok("POST", f"/offers/{request['id']}/accept", provider)
    cid = job["conversation_id"]
    body = {"client_msg_id": "m1", "text": "buy cheap watches at example.com"}
    sent = stack.ok("POST", f"/conversations/{cid}/messages", provider, json=body)
    stranger = stack.new_account("customers")[1]
    subject = {"subject_type": "message", "subject_id": f"{cid}:{sent['seq']}", "reason": "spam"}
    assert stack.call("POST", "/reports", stranger, json=subject).status_code == 404
    report = stack.ok("POST", "/reports", customer, json=subject)
    assert "author_id" not in report or report["author_id"] is None  # reporters see no more

    _, staff = stack.new_account("operators")
    queue = stack.ok("GET", "/admin/reports", staff)["items"]
    assert report["id"] in [r["id"] for r in queue]
    removed = stack.ok(
        "POST", f"/admin/reports/{report['id']}/resolve", staff, json={"action": "remove_content"}
    )
    assert removed["status"] == "resolved"
    history = stack.ok("GET", f"/conversations/{cid}/messages?after=0", customer)["items"]
    assert [m["text"] for m in history] == ["[removed by a moderator]"]

    second = stack.ok("POST", "/reports", customer, json={**subject, "reason": "abuse"})
    stack.ok(
        "POST", f"/admin/reports/{second['id']}/resolve", staff, json={"action": "suspend_user"}
    )
    refused = stack.call("GET", "/jobs", provider)
    assert refused.status_code == 403 and "suspended" in refused.json()["detail"]
    again = stack.call(
        "POST", f"/admin/reports/{second['id']}/resolve", staff, json={"action": "dismiss"}
    )
    assert again.status_code == 409
