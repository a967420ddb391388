"""cost_per_job prices one measured job for each front door and architecture."""

from __future__ import annotations

import pytest

from bench.cost_per_job import PRICES, deployed_as, price

pytestmark = pytest.mark.unit


def test_a_job_is_priced_for_each_front_door_and_architecture():
    q = {"apigw_rest": 10.0, "lambda_gb_s": 2.0, "ddb_read": 4.0}
    usd = price(q)
    other = 4 * 0.125e-6
    assert deployed_as(usd, q, "REST", "x86") == pytest.approx(sum(usd.values()))
    assert deployed_as(usd, q, "HTTP API", "arm64") == pytest.approx(
        10 * 1.00e-6 + 2 * 0.0000133334 + other
    )
    assert deployed_as(usd, q, "HTTP API", "x86") == pytest.approx(
        10 * 1.00e-6 + 2 * 0.0000166667 + other
    )
    assert deployed_as(usd, q, "REST", "arm64") == pytest.approx(
        10 * 3.50e-6 + 2 * 0.0000133334 + other
    )
    # arm64 GB-seconds are 20 % cheaper than x86_64's at AWS list prices
    ratio = PRICES["lambda_gb_s_arm64"].usd / PRICES["lambda_gb_s"].usd
    assert ratio == pytest.approx(0.8, abs=1e-4)
