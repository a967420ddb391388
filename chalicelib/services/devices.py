"""Push devices: register (the same token twice is one device; a token signed in on
another account moves there), list, remove, and forget endpoints SNS reports gone."""

from __future__ import annotations

import logging

from chalicelib.adapters import sns
from chalicelib.auth import Principal
from chalicelib.errors import NotFound, Unavailable
from chalicelib.schemas.devices import DeviceIn, DeviceOut
from chalicelib.store import devices as repo
from chalicelib.store.devices import DeviceItem

log = logging.getLogger("summon.devices")


def _out(item: DeviceItem) -> DeviceOut:
    return DeviceOut(id=item.device_id, platform=item.platform, created_at=item.created_at)  # type: ignore[arg-type]


def register(principal: Principal, body: DeviceIn) -> tuple[DeviceOut, bool]:
    """Register the caller's push token: the device and whether it is new (a token held
    by another account moves to this one). Also 2-3 SNS calls (create or re-enable the
    platform endpoint); :class:`Unavailable` when push is not configured."""
    uid = principal.user_id
    digest = repo.token_hash(body.token)
    try:
        endpoint_arn = sns.create_endpoint(body.platform, body.token)
    except sns.PushUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    for _ in range(3):
        current = repo.get_token(body.platform, digest)
        if current is not None and current.user_id == uid and current.endpoint_arn == endpoint_arn:
            return (
                DeviceOut(
                    id=current.device_id, platform=body.platform, created_at=current.created_at
                ),
                False,
            )
        try:
            item = repo.add(uid, body.platform, digest, endpoint_arn, previous=current)
        except repo.Moved:
            continue  # registered or moved concurrently: look again
        if current is not None and current.user_id != uid:
            log.info("push token moved from user %s to %s", current.user_id, uid)
        return _out(item), True
    raise Unavailable("The device is being registered concurrently: retry.")


def list_devices(principal: Principal) -> list[DeviceOut]:
    """The caller's push devices."""
    return [_out(d) for d in repo.list_devices(principal.user_id)]


def remove(principal: Principal, device_id: str) -> None:
    """Forget one of the caller's devices and its SNS endpoint (1 SNS call);
    :class:`NotFound` when it is not theirs."""
    item = repo.get_device(principal.user_id, device_id)
    if item is None:
        raise NotFound("No such device.")
    forget(item)


def forget(item: DeviceItem) -> None:
    """Remove a device and its SNS endpoint (unless the token moved to someone else)."""
    if repo.remove(
        item.user_id, item.device_id, item.platform, item.token_sha256, item.endpoint_arn
    ):
        sns.delete_endpoint(item.endpoint_arn)
