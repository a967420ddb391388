"""The capacity model's arithmetic (bench/capacity.py) on a tiny scenario, by hand."""

from __future__ import annotations

import pytest

from bench import capacity
from bench.capacity import Geography, Route, Scenario
from chalicelib.store import keys
from devstack.capacity import touches

pytestmark = pytest.mark.unit


def tiny() -> tuple[Scenario, dict[str, Route], Geography]:
    s = Scenario(
        "tiny",
        providers=600,
        requests_per_s=2.0,
        chat_per_s=10.0,
        sockets=1200,
        report_every_s=60.0,
        socket_minutes=10.0,
        hot_entity_per_s=1.0,
        driving_share=0.5,
        speed_kmh=30.0,
    )
    routes = {
        capacity.LEAVES: Route(
            capacity.LEAVES,
            "http",
            n=1,
            calls=1,
            read_units=0,
            write_units=3,
            cloud_ms=10,
            partitions={
                ("table", "USER#<id>"): [0.0, 1.0, 1.0],
                ("gsi3", "GEO#<place>"): [0.0, 1.0, 1.0],
            },
        ),
        capacity.STAYS: Route(
            capacity.STAYS,
            "http",
            n=1,
            calls=1,
            read_units=0,
            write_units=1,
            cloud_ms=10,
            partitions={("table", "USER#<id>"): [0.0, 1.0, 1.0]},
        ),
        "POST /requests": Route(
            "POST /requests",
            "http",
            n=1,
            calls=4,
            read_units=2,
            write_units=10,
            cloud_ms=50,
            push=1,
            partitions={("gsi2", "DUE#<day>#<shard>"): [0.0, 4.0, 4.0]},
        ),
        "$default chat.send": Route(
            "$default chat.send",
            "ws",
            n=1,
            calls=4,
            read_units=1,
            write_units=3,
            cloud_ms=20,
            ws_in=1,
            ws_out=2,
            partitions={("table", "CONV#<id>"): [1.0, 3.0, 4.0]},
        ),
        "$connect": Route("$connect", "ws", n=1, calls=2, write_units=2, cloud_ms=30),
        "$disconnect": Route("$disconnect", "ws", n=1, calls=2, write_units=2, cloud_ms=30),
    }
    geography = Geography({"gsi3": 0.5}, {"gsi3": 1.0}, {"gsi3": "GEO#1:1"})
    return s, routes, geography


def line(result: capacity.Result, starts: str) -> capacity.Line:
    return next(x for x in result.lines if x.what.startswith(starts))


def test_the_model_adds_up_a_tiny_scenario() -> None:
    s, routes, geography = tiny()
    result = capacity.model(s, routes, {"POST /requests": 1.0}, geography, mem_mb=1024)
    # availability: 600 / 60 s = 10/s, half of them driving 500 m between reports (each
    # leaves its 200 m cell); half the metro's index entries in one partition
    assert s.leaving_share == pytest.approx(0.5)
    assert line(result, "DynamoDB gsi3 writes").load == pytest.approx(2.5)
    # requests: 2/s x 4 units, in one of the day's due shards
    assert line(result, "DynamoDB gsi2 writes").load == pytest.approx(8.0 / keys.DUE_SHARDS)
    # chat: the busiest conversation at 1/s, 3 of its 4 units writes
    assert line(result, "DynamoDB table writes").load == pytest.approx(3.0)
    # sockets: 1200 open for 10 min = 2 new a second
    connects = line(result, "API Gateway new WebSocket connections")
    assert connects.load == pytest.approx(2.0)
    assert connects.headroom == pytest.approx(250.0)
    # REST 10 + 2, WebSocket in 10
    assert line(result, "API Gateway requests").load == pytest.approx(22.0)
    # concurrency: 10 x 0.01 + 2 x 0.05 + 10 x 0.02 + 2 x (0.03 + 0.03)
    assert line(result, "Lambda concurrency").load == pytest.approx(0.52)
    month = capacity.SECONDS_PER_MONTH
    writes = 10 * (0.5 * 3 + 0.5 * 1) + 2 * 10 + 10 * 3 + 2 * 2 + 2 * 2
    assert result.monthly["ddb_write"] == pytest.approx(writes * month * 0.625 / 1e6)
    assert result.monthly["ws_minute"] == pytest.approx(1200 / 60 * month * 0.25 / 1e6)
    assert result.monthly["lambda_gb_s"] == pytest.approx(0.52 * month * 0.0000166667)
    assert not result.over


def test_a_partition_past_its_limit_is_over() -> None:
    s, routes, geography = tiny()
    result = capacity.model(s.times(1000), routes, {"POST /requests": 1.0}, geography)
    over = {x.what.split(":")[0] for x in result.over}
    assert "DynamoDB gsi3 writes" in over  # 10,000/s x 0.5 leaving x 0.5
    assert "DynamoDB gsi2 writes" not in over  # 2,000/s x 4 over 16 shards


def test_families() -> None:
    due = keys.due("2026-11-27", "REQ#1")
    assert capacity.family("gsi2", due) == ("DUE#<day>#<shard>", f"sharded:{keys.DUE_SHARDS}")
    assert capacity.family("gsi1", "APPROVALS#pending") == ("APPROVALS#pending", "shared")
    assert capacity.family("gsi1", "CONNS#07") == ("CONNS#<shard>", "sharded:16")
    assert capacity.family("table", "USER#abc") == ("USER#<id>", "entity")
    assert capacity.family("table", "SWEEP#timers") == ("SWEEP#timers", "shared")
    assert capacity.family("gsi4", "GEO#2860:17")[1] == "geo"


def test_touches_put_each_unit_in_its_partition() -> None:
    shape = ("pk", [("gsi2", "gsi2pk", "gsi2sk", "ALL", ())])
    item = {
        "pk": {"S": "REQ#1"},
        "sk": {"S": "META"},
        "gsi2pk": {"S": "DUE#d"},
        "gsi2sk": {"S": "x"},
    }
    found = touches("PutItem", {"TableName": "t", "Item": item}, {}, lambda t: shape, "t")
    assert found == [("table", "REQ#1", 0.0, 1.0), ("gsi2", "DUE#d", 0.0, 1.0)]
    query = {
        "TableName": "t",
        "IndexName": "gsi2",
        "KeyConditionExpression": "#0 = :0 AND #1 <= :1",
        "ExpressionAttributeNames": {"#0": "gsi2pk", "#1": "gsi2sk"},
        "ExpressionAttributeValues": {":0": {"S": "DUE#d"}, ":1": {"S": "z"}},
    }
    got = touches("Query", query, {"Items": [item], "Count": 1}, lambda t: shape, "t")
    assert got == [("gsi2", "DUE#d", 0.5, 0.0)]


def test_the_share_of_reports_that_leave_a_cell() -> None:
    from chalicelib.domain import geo

    assert geo.REINDEX_KM == 0.2
    waiting = Scenario("w", driving_share=0.0)
    assert waiting.leaving_share == 0.0
    driving = Scenario("d", driving_share=0.3, speed_kmh=30.0)  # 500 m a report
    assert driving.leaving_share == pytest.approx(0.3)
    walking = Scenario("f", driving_share=0.3, speed_kmh=6.0)  # 100 m: every 3rd report
    assert walking.leaving_share == pytest.approx(0.1)
    assert Scenario("m").times(10).leaving_share == Scenario("m").leaving_share


def test_counts_write_the_geo_partition_at_the_share_that_rewrites_the_ranking_copy() -> None:
    s, routes, geography = tiny()
    counted = {("gsi3", capacity.GEO_COUNTERS): [0.0, 5.0, 5.0]}  # a job's 5 counts
    routes["POST /requests"].partitions |= counted
    result = capacity.model(s, routes, {"POST /requests": 1.0}, geography)
    share = s.counter_rewrite_share
    assert 0.0 < share < 1.0
    # reports 2.5 (above) + 2 requests/s x 5 counts x the share, half in the partition
    expected = 2.5 + 2.0 * 5.0 * share * 0.5
    assert line(result, "DynamoDB gsi3 writes").load == pytest.approx(expected)
    assert line(result, "DynamoDB gsi3 writes").what.endswith("GEO#<place>")


def test_a_newcomers_counts_rewrite_the_copy_more_often_than_a_seasoned_providers() -> None:
    week = Scenario("w").counter_rewrite_share
    day = Scenario("d", history_days=1.0).counter_rewrite_share
    month = Scenario("m", history_days=30.0).counter_rewrite_share
    assert month < week < day < 0.1
    assert Scenario("x").times(10).counter_rewrite_share == week  # offers per provider alike
    assert capacity.counter_rewrite_share(1.0, 1.0, 0.0) == 1.0  # a first offer moves it


GEO_SHAPE = (
    "pk",
    [
        ("gsi1", "gsi1pk", "gsi1sk", "ALL", ()),
        ("gsi3", "gsi3pk", "gsi3sk", "INCLUDE", ("online", "lat", "lng", "offers_received")),
    ],
)
PROVIDER = {
    "pk": {"S": "USER#p"},
    "sk": {"S": "PROVIDER"},
    "gsi3pk": {"S": "GEO#357:17"},
    "gsi3sk": {"S": "170860000#p"},
    "lat": {"N": "38.72"},
    "lng": {"N": "-9.14"},
    "live_lat": {"N": "38.7205"},
}


def _update(expression: str, names: dict[str, str]) -> dict[str, object]:
    return {
        "TableName": "t",
        "Key": {"pk": PROVIDER["pk"], "sk": PROVIDER["sk"]},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":0": {"N": "1"}, ":1": {"N": "2"}},
    }


def test_an_update_writes_an_index_only_through_its_keys_or_projection() -> None:
    image = {"Attributes": PROVIDER}
    live = _update("SET #0 = :0, #1 = :1", {"#0": "live_lat", "#1": "updated_at"})
    assert touches("UpdateItem", live, image, lambda t: GEO_SHAPE, "t") == [
        ("table", "USER#p", 0.0, 1.0)
    ]
    moved = _update("SET #0 = :0, #1 = :1", {"#0": "lat", "#1": "gsi3sk"})
    found = touches("UpdateItem", moved, image, lambda t: GEO_SHAPE, "t")
    assert ("gsi3", "GEO#357:17", 0.0, 1.0) in found
    # a transaction's counter update shows no image: the entry's partition is unknown
    counter = {"Update": _update("SET #0 = #0 + :0", {"#0": "offers_received"})}
    got = touches("TransactWriteItems", {"TransactItems": [counter]}, {}, lambda t: GEO_SHAPE, "t")
    assert ("gsi3", "?USER#p PROVIDER", 0.0, 1.0) in got
    assert capacity.family("gsi3", "?USER#p PROVIDER") == (capacity.GEO_COUNTERS, "geo")
    assert capacity.family("gsi3", "?METRICS#03 LIVE")[1] == "none"  # never in the index
