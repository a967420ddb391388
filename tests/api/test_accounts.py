"""Roles after sign-up, provider verification, and the operators' tools, through the routes
with moto's Cognito behind them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.services import accounts
from chalicelib.web import ROUTES
from tests.api.conftest import Api
from tests.support import count_dynamodb_calls, route_calls, unverified_token

pytestmark = pytest.mark.api

HERE = {"lat": 38.72, "lng": -9.14}
PROVIDER_BODY = {"categories": ["plumbing"], "bio": "", "location": HERE, "radius_km": 10}


@pytest.fixture
def pool(aws: None) -> Any:
    """The local user pool (customers, providers, operators) and an SNS topic for
    announcements, in the runtime's settings; ``pool.user(email, *groups)`` signs one up."""
    import boto3

    from chalicelib import config
    from devstack import provision

    made = provision.user_pool(None, config.DEFAULT_REGION)
    topic = boto3.client("sns", config.DEFAULT_REGION).create_topic(Name="announcements")
    runtime.use(
        settings=replace(
            runtime.settings(),
            user_pool_id=made[config.USER_POOL_ID],
            announcements_topic_arn=topic["TopicArn"],
        )
    )

    class Pool:
        id = made[config.USER_POOL_ID]
        idp = boto3.client("cognito-idp", config.DEFAULT_REGION)

        def user(self, email: str, *groups: str) -> str:
            return provision.ensure_user(
                None, config.DEFAULT_REGION, self.id, email, "Passw0rd!", list(groups)
            )

        def groups(self, sub: str) -> list[str]:
            found = self.idp.admin_list_groups_for_user(UserPoolId=self.id, Username=sub)
            return sorted(g["GroupName"] for g in found["Groups"])

        def enabled(self, sub: str) -> bool:
            return bool(self.idp.admin_get_user(UserPoolId=self.id, Username=sub)["Enabled"])

    return Pool()


def approval_required(on: bool) -> None:
    runtime.use(settings=replace(runtime.settings(), provider_approval=on))


def test_a_new_account_takes_a_role_and_a_refreshed_token_carries_it(pool, as_user):
    sub = pool.user("new@example.com")
    fresh = as_user((), user_id=sub)  # a sign-up's first token: no groups yet
    assert fresh.call("POST", "/requests", {}).status_code == 403
    answer = fresh.call("POST", "/me/roles", {"role": "customer"})
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body == {
        "roles": ["customers"],
        "provider_verification": None,
        "refresh_token": True,
    }
    assert pool.groups(sub) == ["customers"]
    refreshed = as_user(("customers",), user_id=sub)
    again = refreshed.call("POST", "/me/roles", {"role": "customer"})
    assert again.json_body["refresh_token"] is False  # nothing new to refresh for
    assert pool.groups(sub) == ["customers"]
    assert refreshed.call("GET", "/me").json_body["roles"] == ["customers"]


def test_a_customer_who_becomes_a_provider_keeps_both_roles(pool, as_user, client):
    """The account's Cognito username and its stable id differ (an account made in the
    other region's pool, ADR 0013): the group goes to the username, the profile and the
    verification to the stable id, with the account's email."""
    approval_required(True)
    sub = pool.user("both@example.com", "customers")
    token = unverified_token(
        sub, ("customers",), "both@example.com", **{"custom:user_id": "stable-both"}
    )
    me = Api(client, token, "stable-both")
    answer = me.call("POST", "/me/roles", {"role": "provider"})
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body["roles"] == ["customers", "providers"]
    assert answer.json_body["provider_verification"] == "pending"
    assert pool.groups(sub) == ["customers", "providers"]
    assert me.call("GET", "/me").json_body["email"] == "both@example.com"
    staff = as_user(("operators",), user_id=pool.user("staff2@example.com", "operators"))
    queue = staff.call("GET", "/admin/providers?status=pending").json_body["items"]
    assert [(q["user_id"], q["email"]) for q in queue] == [("stable-both", "both@example.com")]


def test_a_role_must_be_customer_or_provider(pool, as_user):
    sub = pool.user("picky@example.com")
    me = as_user((), user_id=sub)
    for bad in ({"role": "operator"}, {"role": "operators"}, {}, {"role": "customer", "x": 1}):
        assert me.call("POST", "/me/roles", bad).status_code == 400, bad
    assert pool.groups(sub) == []


def test_without_approval_a_new_provider_goes_online_at_once(pool, as_user):
    sub = pool.user("quick@example.com")
    answer = as_user((), user_id=sub).call("POST", "/me/roles", {"role": "provider"})
    assert answer.json_body["provider_verification"] == "approved"
    pro = as_user(("providers",), user_id=sub)
    assert pro.call("PUT", "/me/provider", PROVIDER_BODY).status_code == 200
    assert pro.call("PUT", "/me/provider/availability", {"online": True}).status_code == 200


def test_with_approval_a_provider_waits_for_an_operator(pool, as_user):
    approval_required(True)
    sub = pool.user("careful@example.com")
    answer = as_user((), user_id=sub).call("POST", "/me/roles", {"role": "provider"})
    assert answer.json_body["provider_verification"] == "pending"
    pro = as_user(("providers",), user_id=sub)
    pro.call("PUT", "/me/provider", PROVIDER_BODY)
    waiting = pro.call("PUT", "/me/provider/availability", {"online": True})
    assert waiting.status_code == 409 and "verification is pending" in waiting.json_body["detail"]

    staff = as_user(("operators",), user_id=pool.user("staff@example.com", "operators"))
    queue = staff.call("GET", "/admin/providers?status=pending").json_body["items"]
    assert [(q["user_id"], q["status"]) for q in queue] == [(sub, "pending")]
    approved = staff.call("POST", f"/admin/providers/{sub}/approve", {})
    assert approved.json_body["status"] == "approved"
    assert staff.call("GET", "/admin/providers").json_body["items"] == []
    assert pro.call("PUT", "/me/provider/availability", {"online": True}).status_code == 200

    rejected = staff.call("POST", f"/admin/providers/{sub}/reject", {"reason": "no licence"})
    assert rejected.json_body["status"] == "rejected"
    assert pro.call("GET", f"/providers/{sub}").json_body["online"] is False
    again = pro.call("PUT", "/me/provider/availability", {"online": True})
    assert again.status_code == 409 and "rejected" in again.json_body["detail"]
    missing = staff.call("POST", "/admin/providers/nobody/approve", {})
    assert missing.status_code == 404
    actions = [e["action"] for e in staff.call("GET", "/admin/audit").json_body["items"]]
    assert actions == ["provider.rejected", "provider.approved"]  # newest first


def test_a_provider_with_no_verification_record_waits_like_a_pending_one(pool, as_user):
    """A provider made in the user pool by an admin (never asked through POST /me/roles)
    has no verification record: with approval required it is pending."""
    approval_required(True)
    pro = as_user(("providers",), user_id=pool.user("direct@example.com", "providers"))
    assert pro.call("PUT", "/me/provider", PROVIDER_BODY).status_code == 200
    waiting = pro.call("PUT", "/me/provider/availability", {"online": True})
    assert (waiting.status_code, waiting.json_body["detail"]) == (
        409,
        "Your provider verification is pending: you can go online once an operator approves it.",
    )


def test_only_operators_reach_the_admin_routes(pool, as_user):
    admin_routes = [r for r in ROUTES if r.path.startswith("/admin")]
    assert len(admin_routes) >= 9
    for who in (("customers",), ("providers",), ("customers", "providers"), ()):
        caller = as_user(who)
        for spec in admin_routes:
            path = spec.path.replace("{user_id}", "u").replace("{category_id}", "c")
            body = {} if spec.method in ("POST", "PUT") else None
            answer = caller.call(spec.method, path, body)
            assert answer.status_code == 403, (who, spec.method, path, answer.json_body)


def test_a_suspended_account_is_refused_everywhere_until_restored(pool, as_user):
    sent: list[Any] = []

    class Sockets:
        def send(self, targets, data):
            raise AssertionError("nothing is sent to a suspended account")

        def close(self, targets):
            sent.extend(targets)
            return len(targets)

    runtime.use(sender=Sockets())
    sub = pool.user("abuser@example.com", "customers")
    abuser = as_user(("customers",), user_id=sub)
    assert abuser.call("GET", "/me").status_code == 200
    from chalicelib.store import connections

    connections.add_connection("c1", sub, "http://127.0.0.1:1/local", 0)
    staff = as_user(("operators",), user_id=pool.user("boss@example.com", "operators"))
    found = staff.call("GET", "/admin/users?email=abuser").json_body["items"]
    assert [(u["id"], u["suspended"], u["enabled"]) for u in found] == [(sub, False, True)]

    done = staff.call("POST", f"/admin/users/{sub}/suspend", {"reason": "spam"})
    assert done.status_code == 200 and done.json_body["sockets_closed"] == 1
    assert [t.connection_id for t in sent] == ["c1"]
    assert not pool.enabled(sub)
    for method, path in (("GET", "/me"), ("GET", "/jobs"), ("POST", "/me/roles")):
        body = {"role": "customer"} if method == "POST" else None
        refused = abuser.call(method, path, body)
        assert refused.status_code == 403 and "suspended" in refused.json_body["detail"]
    assert staff.call("GET", "/admin/users?email=abuser").json_body["items"][0]["suspended"]

    staff.call("POST", f"/admin/users/{sub}/restore", {})
    assert pool.enabled(sub)
    assert abuser.call("GET", "/me").status_code == 200
    assert staff.call("POST", "/admin/users/nobody/suspend", {}).status_code == 404


def test_another_container_refuses_a_suspension_within_its_cache_period(pool, as_user, monkeypatch):
    sub = pool.user("late@example.com", "customers")
    user = as_user(("customers",), user_id=sub)
    assert user.call("GET", "/me").status_code == 200
    from chalicelib.store import accounts as repo

    repo.set_suspended(sub, True)  # suspended from another container
    assert user.call("GET", "/me").status_code == 200  # this one still has its view
    clock = [accounts.time.monotonic() + accounts.SUSPENSION_CACHE_S]
    monkeypatch.setattr(accounts.time, "monotonic", lambda: clock[0])
    assert user.call("GET", "/me").status_code == 403


def test_a_container_that_starts_after_a_suspension_refuses_at_once(pool, as_user):
    sub = pool.user("cold@example.com", "customers")
    from chalicelib.store import accounts as repo

    repo.set_suspended(sub, True)  # by another container, before this one started
    runtime.reset()  # a new container: its first call reads the suspended accounts
    refused = as_user(("customers",), user_id=sub).call("GET", "/me")
    assert (refused.status_code, refused.json_body["detail"]) == (
        403,
        "This account is suspended.",
    )


def test_operators_edit_categories_and_announce(pool, as_user):
    staff = as_user(("operators",), user_id=pool.user("ops@example.com", "operators"))
    made = staff.call("PUT", "/admin/categories/gardening", {"name": "Gardening", "icon": "leaf"})
    assert made.status_code == 200
    ids_ = [c["id"] for c in staff.call("GET", "/categories").json_body["items"]]
    assert "gardening" in ids_
    sent = staff.call(
        "POST", "/admin/announcements", {"title": "Hi", "text": "New", "audience": "providers"}
    )
    assert sent.status_code == 202 and sent.json_body["audience"] == "providers"
    assert staff.call("POST", "/admin/announcements", {"title": "", "text": "x"}).status_code == 400
    log = staff.call("GET", "/admin/audit").json_body["items"]
    assert [e["action"] for e in log] == ["announcement", "category.put"]
    assert json.dumps(log[0]["detail"]).count("providers") == 1


def test_the_new_routes_stay_within_their_budgets(pool, as_user):
    staff = as_user(("operators",), user_id=pool.user("meter@example.com", "operators"))
    sub = pool.user("metered@example.com")
    for method, path, body in (
        ("POST", "/me/roles", {"role": "provider"}),
        ("GET", "/admin/providers", None),
        ("POST", f"/admin/providers/{sub}/approve", {}),
        ("GET", "/admin/users?email=meter", None),
        ("PUT", "/admin/categories/x", {"name": "X"}),
        ("POST", "/admin/announcements", {"title": "t", "text": "b"}),
        ("GET", "/admin/audit", None),
        ("POST", f"/admin/users/{sub}/suspend", {}),  # last: each drops the suspended view
        ("POST", f"/admin/users/{sub}/restore", {}),
    ):
        who = as_user((), user_id=sub) if path == "/me/roles" else staff
        with count_dynamodb_calls() as calls:
            answer = who.call(method, path, body)
        assert answer.status_code in (200, 202), (path, answer.json_body)
        assert len(calls.calls) <= route_calls(method, path), (path, calls.calls)


def test_the_auth_config_names_the_serving_pool_to_anyone(pool, client):
    answer = client.http.get("/auth/config")
    assert answer.status_code == 200
    assert answer.json_body["user_pool_id"] == pool.id
    assert answer.json_body["region"] == "us-east-1"


def test_a_blocked_pair_is_never_matched_until_unblocked(pool, as_user):
    from tests.api.test_marketplace import become_provider, offers_of, request_body

    pro = become_provider(as_user(("providers",)))
    buyer = as_user(("customers",))
    buyer.call("GET", "/me")

    def offered() -> bool:
        rid = buyer.call("POST", "/requests", request_body()).json_body["id"]
        return any(o["request_id"] == rid for o in offers_of(pro))

    assert offered()
    assert buyer.call("PUT", f"/me/blocks/{pro.user_id}").status_code == 200
    assert [b["user_id"] for b in buyer.call("GET", "/me/blocks").json_body["items"]] == [
        pro.user_id
    ]
    assert pro.call("GET", "/me/blocks").json_body["items"] == []  # private
    assert not offered()
    assert buyer.call("DELETE", f"/me/blocks/{pro.user_id}").status_code == 204
    assert offered()
    assert pro.call("PUT", f"/me/blocks/{buyer.user_id}").status_code == 200  # either way
    assert not offered()
    assert buyer.call("PUT", f"/me/blocks/{buyer.user_id}").status_code == 400
    assert buyer.call("PUT", "/me/blocks/nobody-at-all").status_code == 200  # says nothing
    assert buyer.call("PUT", "/me/blocks/x").status_code == 400


def test_a_blocked_pair_cannot_chat_either_way_until_unblocked(pool, as_user):
    from tests.api.test_marketplace import matched_job

    customer, provider, job = matched_job(as_user)
    cid = job["conversation_id"]

    def say(who, n: int) -> Any:
        body = {"client_msg_id": f"m{n}", "text": "hello"}
        return who.call("POST", f"/conversations/{cid}/messages", body)

    assert say(customer, 1).status_code == 201
    assert provider.call("PUT", f"/me/blocks/{customer.user_id}").status_code == 200
    for n, who in enumerate((customer, provider), start=2):
        closed = say(who, n)
        assert closed.status_code == 409, closed.json_body
        assert closed.json_body["detail"] == "This conversation is closed."  # no "blocked"
    provider.call("DELETE", f"/me/blocks/{customer.user_id}")
    assert say(customer, 9).status_code == 201


def test_chat_and_review_texts_are_masked_and_names_refused(pool, as_user):
    from tests.api.test_marketplace import matched_job

    customer, _, job = matched_job(as_user)
    cid = job["conversation_id"]
    body = {"client_msg_id": "rude", "text": "you are a shit plumber"}
    sent = customer.call("POST", f"/conversations/{cid}/messages", body).json_body
    assert sent["text"] == "you are a **** plumber"
    refused = customer.call("PATCH", "/me", {"name": "Shit Head"})
    assert refused.status_code == 400 and refused.json_body["errors"][0]["field"] == "name"
    staff = as_user(("operators",), user_id=pool.user("words@example.com", "operators"))
    words = staff.call("PUT", "/admin/words", {"add": ["zorglub"], "allow": ["shit"]})
    assert words.json_body == {"added": ["zorglub"], "allowed": ["shit"]}
    body = {"client_msg_id": "new", "text": "zorglub! shit happens"}
    assert customer.call("POST", f"/conversations/{cid}/messages", body).json_body["text"] == (
        "****! shit happens"
    )


def test_removing_a_reported_photo_deletes_every_stored_copy(pool, as_user, monkeypatch):
    from chalicelib import ids
    from chalicelib.adapters import s3
    from chalicelib.store import keys
    from chalicelib.store import media as media_repo

    deleted: list[str] = []
    monkeypatch.setattr(s3, "delete", deleted.append)
    owner = as_user(("customers",))
    media_id = ids.new_id()
    key = f"uploads/{owner.user_id}/{media_id}"
    media_repo.create(media_id, owner.user_id, "avatar", "image/png", 100, key)
    item = media_repo.MediaItem(keys.media(media_id), keys.META)
    thumb, clean = (
        f"thumbnails/{owner.user_id}/{media_id}",
        f"thumbnails/{owner.user_id}/{media_id}.clean",
    )
    item.update(
        actions=[
            media_repo.MediaItem.thumb_key.set(thumb),
            media_repo.MediaItem.clean_key.set(clean),
        ]
    )
    subject = {"subject_type": "media", "subject_id": media_id, "reason": "inappropriate"}
    report = owner.call("POST", "/reports", subject).json_body
    staff = as_user(("operators",), user_id=pool.user("photos@example.com", "operators"))
    resolved = staff.call(
        "POST", f"/admin/reports/{report['id']}/resolve", {"action": "remove_content"}
    )
    assert resolved.status_code == 200, resolved.json_body
    assert sorted(deleted) == sorted([key, thumb, clean])
    assert media_repo.get(media_id).status == media_repo.REJECTED
