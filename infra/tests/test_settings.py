"""Deployment settings from context (no synthesis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.settings import Role, Settings

pytestmark = pytest.mark.cdk

INFRA = Path(__file__).resolve().parent.parent


def test_defaults_are_both_regions_with_optional_features_off() -> None:
    s = Settings.from_mapping({})
    assert s.roles == (Role.STANDBY, Role.PRIMARY)  # standby deploys first
    assert (s.primary_region, s.standby_region) == ("us-east-1", "us-west-2")
    assert s.domain is None and s.signing_key is None and s.front_door is None
    assert not s.push_secrets and not s.identity_providers.any
    assert s.prefix == "summon-prod"
    assert s.stack_name(Role.STANDBY) == "Summon-prod-standby"


@pytest.mark.parametrize(
    ("role", "roles"), [("primary", (Role.PRIMARY,)), ("standby", (Role.STANDBY,))]
)
def test_the_role_context_selects_one_region(role: str, roles: tuple[Role, ...]) -> None:
    assert Settings.from_mapping({"role": role}).roles == roles


def test_json_strings_from_the_command_line_are_parsed() -> None:
    s = Settings.from_mapping({"domain": '{"name": "x.example.org", "hostedZoneId": "Z1"}'})
    assert s.domain is not None and s.domain.host("api") == "api.x.example.org"


@pytest.mark.parametrize(
    "ctx",
    [
        {"role": "both"},
        {"primaryRegion": "eu-west-1", "standbyRegion": "eu-west-1"},
        {"primaryRegion": "eu-west-1", "domain": {"name": "a.b", "hostedZoneId": "Z"}},
        {"nope": 1},
    ],
)
def test_bad_settings_are_refused(ctx: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Settings.from_mapping(ctx)


def test_the_example_context_turns_everything_on() -> None:
    data = json.loads((INFRA / "config" / "example.json").read_text())["context"]
    s = Settings.from_mapping({k.removeprefix("summon:"): v for k, v in data.items()})
    assert s.domain and s.signing_key and s.front_door and s.quicksight_principal_arn
    assert set(s.push_secrets) == {"apns", "apns_sandbox", "fcm"}
    assert s.identity_providers.any


@pytest.mark.parametrize(
    "front",
    [
        # one VPC for both regions (the old shape)
        {
            "vpcId": "vpc-1",
            "vpcCidr": "10.0.0.0/16",
            "availabilityZones": ["us-east-1a"],
            "publicSubnetIds": ["subnet-1"],
        },
        # the standby given the primary region's subnets
        {
            "standby": {
                "vpcId": "vpc-1",
                "vpcCidr": "10.0.0.0/16",
                "availabilityZones": ["us-east-1a"],
                "publicSubnetIds": ["subnet-1"],
            }
        },
    ],
)
def test_the_front_door_needs_each_regions_own_vpc(front: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="frontDoor"):
        Settings.from_mapping({"frontDoor": front})


def test_region_states_default_to_primary_active_and_failover_is_a_shorthand() -> None:
    from infra.settings import RegionState

    assert Settings.from_mapping({}).region_states == {
        Role.PRIMARY: RegionState.ACTIVE,
        Role.STANDBY: RegionState.STANDBY,
    }
    failover = Settings.from_mapping({"failover": "true"})
    assert failover.region_states == {
        Role.PRIMARY: RegionState.FENCED,
        Role.STANDBY: RegionState.ACTIVE,
    }
    explicit = Settings.from_mapping({"regionStates": {"primary": "fenced", "standby": "active"}})
    assert explicit.region_states == failover.region_states


@pytest.mark.parametrize(
    "states",
    [
        {"primary": "active", "standby": "active"},
        {"primary": "fenced", "standby": "standby"},
        {"primary": "up"},
    ],
)
def test_exactly_one_region_is_active(states: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings.from_mapping({"regionStates": states})
