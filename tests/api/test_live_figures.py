"""The operators' live figures and map (``GET /admin/metrics``, ``GET /admin/map``): the
counters follow what users do, the map shows who is online and what is open."""

from __future__ import annotations

import pytest

from chalicelib.store import metrics
from tests.api.test_marketplace import HERE, become_provider, offers_of, request_body
from tests.support import count_dynamodb_calls, route_calls

pytestmark = pytest.mark.api


@pytest.fixture(autouse=True)
def _settings_first(aws):
    from chalicelib import runtime

    runtime.settings()


def figures(staff):
    answer = staff.call("GET", "/admin/metrics")
    assert answer.status_code == 200, answer.json_body
    return answer.json_body


def spots(staff, kind):
    answer = staff.call("GET", "/admin/map")
    assert answer.status_code == 200, answer.json_body
    return {s["id"]: (s["lat"], s["lng"]) for s in answer.json_body[kind]}


def test_only_operators_read_the_live_view(as_user):
    for groups in (("customers",), ("providers",), ()):
        for path in ("/admin/metrics", "/admin/map"):
            answer = as_user(groups).call("GET", path)
            assert answer.status_code == 403, (groups, path)
            assert answer.headers["Content-Type"] == "application/problem+json"


def test_the_figures_follow_providers_requests_and_jobs(as_user):
    staff = as_user(("operators",))
    start = figures(staff)
    assert (start["providers_online"], start["open_requests"], start["jobs_today"]) == (0, 0, 0)
    assert start["median_accept_s"] is None

    provider = become_provider(as_user(("providers",)))
    assert figures(staff)["providers_online"] == 1
    again = provider.call("PUT", "/me/provider/availability", {"online": True})
    assert again.status_code == 200 and again.json_body["online"] is True
    assert figures(staff)["providers_online"] == 1  # already online: not counted twice
    assert provider.user_id in spots(staff, "providers")

    customer = as_user(("customers",))
    created = customer.call("POST", "/requests", request_body())
    assert created.status_code == 201, created.json_body
    rid = created.json_body["id"]
    assert figures(staff)["open_requests"] == 1
    assert spots(staff, "requests")[rid] == (HERE["lat"], HERE["lng"])

    offer = offers_of(provider)[0]
    assert provider.call("POST", f"/offers/{offer['id']}/accept").status_code == 200
    now = figures(staff)
    assert (now["providers_online"], now["open_requests"], now["jobs_today"]) == (1, 0, 1)
    assert now["median_accept_s"] is not None and now["median_accept_s"] >= 0
    assert rid not in spots(staff, "requests")

    off = provider.call("PUT", "/me/provider/availability", {"online": False})
    assert off.status_code == 200 and off.json_body["online"] is False
    assert figures(staff)["providers_online"] == 0
    assert provider.user_id not in spots(staff, "providers")


def test_a_cancelled_request_leaves_the_open_count_and_the_map(as_user):
    staff = as_user(("operators",))
    become_provider(as_user(("providers",)))  # someone to invite: the request stays open
    customer = as_user(("customers",))
    rid = customer.call("POST", "/requests", request_body(mode="quote")).json_body["id"]
    assert figures(staff)["open_requests"] == 1
    assert rid in spots(staff, "requests")
    assert customer.call("POST", f"/requests/{rid}/cancel", {}).status_code == 200
    assert figures(staff)["open_requests"] == 0
    assert rid not in spots(staff, "requests")


def test_the_map_leaves_out_what_is_beyond_the_city(as_user):
    staff = as_user(("operators",))
    porto = become_provider(as_user(("providers",)), where={"lat": 41.15, "lng": -8.61})
    lisbon = become_provider(as_user(("providers",)))
    online = spots(staff, "providers")
    assert lisbon.user_id in online and porto.user_id not in online
    assert figures(staff)["providers_online"] == 2  # the figure counts everywhere


def test_a_bad_map_limit_is_a_problem(as_user):
    answer = as_user(("operators",)).call("GET", "/admin/map?limit=0")
    assert answer.status_code == 400
    assert answer.json_body["status"] == 400


def test_the_median_is_interpolated_inside_its_bucket():
    assert metrics._median({}) is None
    assert metrics._median({5: 1, 10: 1, 15: 1}) == 7.5  # half = 1.5: halfway into 5..10 s
    assert metrics._median({60: 4}) == 52.5  # 45..60 s, half = 2 of 4


def test_the_live_view_stays_within_its_budget(as_user):
    staff = as_user(("operators",))
    become_provider(as_user(("providers",)))
    as_user(("customers",)).call("POST", "/requests", request_body())
    for path in ("/admin/metrics", "/admin/map"):
        with count_dynamodb_calls() as calls:
            answer = staff.call("GET", path)
        assert answer.status_code == 200
        assert len(calls.calls) <= route_calls("GET", path), (path, calls.calls)


def test_the_map_gathers_open_requests_from_every_write_shard(as_user):
    from chalicelib.store import keys

    staff = as_user(("operators",))
    become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    opened = []
    for _ in range(8):
        created = customer.call("POST", "/requests", request_body())
        assert created.status_code == 201, created.json_body
        opened.append(created.json_body["id"])
    partition = keys.open_requests("P", opened[0]).rsplit("#", 1)[0].removeprefix("OPEN#")
    assert partition == "P"
    used = {keys.open_requests("P", rid) for rid in opened}
    assert len(used) > 1  # the eight are spread over shards ...
    assert set(spots(staff, "requests")) == set(opened)  # ... and the map shows them all
    capped = staff.call("GET", "/admin/map?limit=3").json_body
    assert len(capped["requests"]) == 3 and capped["truncated"] is True
