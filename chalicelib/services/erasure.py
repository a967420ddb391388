"""Account deletion: ``DELETE /me`` (App Store 5.1.1(v), GDPR art. 17).

:func:`start` (the route) refuses while one of the user's jobs is under way (409 naming
it), then writes the deletion marker (``store/erasure.py``), lists the account as deleted
at the edge (403 on every route and socket within 30 s, whatever tokens it still holds:
the refusal list keeps the SHA-256 of the id, never the id), disables sign-in in Cognito
(AdminDisableUser + global sign-out) and closes the user's sockets. The erasure itself
runs in the scheduled handler (:func:`resume`, every minute): each step of :data:`STEPS`
is idempotent and recorded on the marker once done, so a deletion that stopped anywhere
(a crash, a timeout, a failing call) goes on from that step at the next run; the marker
goes last. What is erased and what the other side keeps: docs/api.md ("Deleting an
account"); every place a user id is written: docs/adr/0019-account-deletion.md.

What the other side of a past job keeps (the job, its conversation and messages, reviews,
its quote, reports naming the user) stays with every occurrence of the user's id rewritten
to a pseudonym, ``deleted-<random id>`` (``ids.DELETED_USER``): the API shows that author as a
deleted user. The pseudonym is drawn once per deletion and kept only on the marker, so
nothing links it to the account once the deletion is over.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib import ids
from chalicelib.adapters import cognito, s3
from chalicelib.auth import Principal
from chalicelib.domain.jobs import TERMINAL_STATES
from chalicelib.domain.market import RequestStatus
from chalicelib.errors import Conflict
from chalicelib.schemas.erasure import ErasureOut
from chalicelib.services import accounts, devices, live
from chalicelib.services import exports as exports_service
from chalicelib.services import media as media_service
from chalicelib.services.work import work
from chalicelib.store import accounts as accounts_repo
from chalicelib.store import blocks as blocks_repo
from chalicelib.store import devices as devices_repo
from chalicelib.store import erasure as repo
from chalicelib.store import marketplace as market
from chalicelib.store import media as media_repo
from chalicelib.store import profiles as profiles_repo
from chalicelib.store.conversations import get_conversation

if TYPE_CHECKING:
    from chalicelib.domain.request import ServiceRequest

log = logging.getLogger("summon.erasure")

REFUSED_FOR_S = 3600 + 300
"""How long the edge keeps refusing a deleted account: its ID tokens live 1 hour."""
PLACEHOLDER = "[deleted user]"
"""What stands in for the email, name and phone of a deleted user in what others keep."""
RUN_AT_ONCE = 10
"""Deletions one scheduled run takes on (oldest first; the rest wait a minute)."""


class Waiting(Exception):
    """A step cannot go on yet (a job of the user is under way): the next run retries."""


# --- the route -----------------------------------------------------------------------------


def start(principal: Principal) -> ErasureOut:
    """``DELETE /me``: 202 ``pending`` (a retry too), or ``deleted`` once it is over; 409
    while a job is under way, nothing changed. Cost: 1 Query + 1 BatchGetItem (the user's
    latest 100 jobs) + 1 conditional PutItem + 1 UpdateItem, + closing the sockets (1
    BatchGetItem, 1 DeleteItem per socket, 1 UpdateItem); a retry 1 GetItem or 3."""
    uid = principal.user_id
    if accounts.deleted(uid):
        return _out("pending" if repo.marker(uid) else "deleted")
    jobs, _ = market.user_jobs(uid, 100, None)
    for job in jobs:
        if job.state not in TERMINAL_STATES:
            raise Conflict(
                f"Job {job.id} is {job.state}: finish or cancel it, then delete your account."
            )
    pseudonym = f"{ids.DELETED_USER}{ids.new_id().lower()}"
    if repo.start(uid, principal.username or uid, principal.email or None, pseudonym) is None:
        return _out("pending")  # a retry of a deletion under way
    _refuse(uid)
    try:
        cognito.set_enabled(principal.username or uid, False)
    except ClientError:
        log.exception("sign-in of %s not disabled yet: the scheduled run retries", uid)
    live.close_user_sockets(uid)
    return _out("pending")


def _out(status: str) -> ErasureOut:
    return ErasureOut(status=status)  # type: ignore[arg-type]


def _refuse(user_id: str) -> None:
    """List the account as deleted at the edge for as long as its tokens may live."""
    until = int(time.time()) + REFUSED_FOR_S
    accounts_repo.set_erased({f"{accounts.digest(user_id)} {until}"}, set())
    accounts.forget_suspended()


# --- the scheduled run ---------------------------------------------------------------------


def resume() -> dict[str, int]:
    """Go on with every deletion under way (oldest first, :data:`RUN_AT_ONCE` a run); a
    failed one is counted on its marker and retried by the next run. Also forgets
    refusals whose tokens have expired. Cost: 1 Query + 1 GetItem, + each deletion."""
    report = {"erased": 0, "waiting": 0, "failed": 0}
    for item in repo.pending(RUN_AT_ONCE):
        try:
            run(item)
            report["erased"] += 1
        except Waiting as exc:
            log.info("deletion of %s waits: %s", item.user_id, exc)
            repo.failed(item, str(exc))
            report["waiting"] += 1
        except Exception as exc:
            log.exception("deletion of %s stopped; the next run resumes it", item.user_id)
            repo.failed(item, f"{type(exc).__name__}: {exc}")
            report["failed"] += 1
    _, erased = accounts_repo.refused()
    now = time.time()
    expired = {e for e in erased if int(e.rsplit(" ", 1)[-1]) < now}
    if expired:
        accounts_repo.set_erased(set(), expired)
    return report


def run(item: repo.ErasureItem) -> None:
    """Every step not done yet, in order, each recorded once done; then the marker goes."""
    done = set(item.done or ())
    for name, step in STEPS:
        if name not in done:
            step(item)
            repo.step_done(item, name)
    _refuse(item.user_id)  # from now: the tokens issued before the deletion expire
    repo.finish(item.user_id)


# --- the steps -----------------------------------------------------------------------------


def _personal(item: repo.ErasureItem) -> None:
    """What the kept items must lose besides the id: the email, name and phone of the
    profile and the provider profile."""
    profile = profiles_repo.get_user(item.user_id)
    provider = profiles_repo.get_provider(item.user_id)
    found = [item.email, provider.name if provider else None]
    if profile is not None:
        found += [profile.email, profile.name, profile.phone]
    repo.add_personal(item, found)


def swapper(item: repo.ErasureItem) -> repo.Swap:
    """The rewrite of every string the other side keeps: the id to the pseudonym, the
    email, name and phone (a name as a whole word, any case) to :data:`PLACEHOLDER`."""
    personal = sorted(item.personal or (), key=len, reverse=True)
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in personal) or r"(?!x)x", re.IGNORECASE
    )
    uid, pseudonym = item.user_id, item.pseudonym

    def swap(text: str) -> str:
        return pattern.sub(PLACEHOLDER, text.replace(uid, pseudonym))

    return swap


def _signin(item: repo.ErasureItem) -> None:
    """Sign-in disabled, refresh tokens revoked (again, if the route did it)."""
    if cognito.exists(item.username):
        cognito.set_enabled(item.username, False)


def _sockets(item: repo.ErasureItem) -> None:
    live.close_user_sockets(item.user_id)


def _devices(item: repo.ErasureItem) -> None:
    """Each device and its SNS endpoint."""
    for device in devices_repo.list_devices(item.user_id):
        devices.forget(device)


def _requests(item: repo.ErasureItem) -> None:
    """The user's requests: open ones cancelled (offers withdrawn, providers told live),
    then every request goes with the offers it made, but for the offer a provider's job
    came from (that provider keeps it, pseudonymised)."""
    uid, swap = item.user_id, swapper(item)
    for found in _pages(lambda c: market.customer_requests(uid, 100, c)):
        request = _change(found.id, _cancel) if found.status == "open" or found.job_id else None
        request = request or found
        job = market.get_job(request.job_id) if request.job_id else None
        providers = list(request.offers)
        repo.add_counterparts(item, providers)
        keep = job.provider_id if job is not None else None
        repo.drop_request(request.id, providers, keep, swap)


def _cancel(request: ServiceRequest, session: market.Session) -> bool:
    """An open request, or one whose job is under way (a race with the route's check),
    is cancelled; anything else stays as it is."""
    job = session.job(request.job_id) if request.job_id else None
    if request.status != RequestStatus.OPEN and (job is None or job.state in TERMINAL_STATES):
        return False
    request.cancel("account deleted", ids.now(), job)
    return True


def _offers(item: repo.ErasureItem) -> None:
    """Requests the user was offered as a provider: a pending offer or quote withdrawn (the
    customer is told; an instant request goes to the next provider), the rest
    pseudonymised, and the user's grants on their photos revoked."""
    uid, swap = item.user_id, swapper(item)
    for request_id in repo.offered_requests(uid):
        request = _change(request_id, lambda r, _: r.drop_provider(uid, ids.now()))
        if request is None:
            continue
        repo.add_counterparts(item, [request.customer_id])
        repo.pseudonymise_request(request_id, swap)
        quote_id = request.quotes.get(uid)
        if quote_id:
            repo.pseudonymise_quote(request.customer_id, quote_id, swap)
        repo.revoke_grants(uid, request.media_ids)


def _jobs(item: repo.ErasureItem) -> None:
    """Each past job stays with the other side, pseudonymised with its reviews; the
    provider's last live position goes."""
    uid, swap = item.user_id, swapper(item)
    for job_id in repo.user_jobs(uid):
        job = market.get_job(job_id)
        if job is None:
            continue
        if job.state not in TERMINAL_STATES:
            raise Waiting(f"job {job.id} is {job.state}")
        repo.add_counterparts(item, [job.customer_id, job.provider_id or ""])
        repo.pseudonymise_job(job.id, swap)
        repo.revoke_grants(uid, job.media_ids, drove_job=job.id if job.provider_id == uid else None)


def _conversations(item: repo.ErasureItem) -> None:
    """Each conversation stays with the other side: its meta, its messages (the user's
    under a new key) and the other members' entries, pseudonymised."""
    uid, swap = item.user_id, swapper(item)
    for conversation_id in repo.user_conversations(uid):
        conversation = get_conversation(conversation_id)
        others = [p for p in (conversation.participants if conversation else []) if p != uid]
        repo.add_counterparts(item, others)
        repo.pseudonymise_conversation(conversation_id, others, swap)


def _blocks(item: repo.ErasureItem) -> None:
    blocks_repo.forget_user(item.user_id)


def _reports(item: repo.ErasureItem) -> None:
    """Reports the user made or that name them stay for the operators, pseudonymised."""
    repo.pseudonymise_reports(item.user_id, swapper(item))


def _media(item: repo.ErasureItem) -> None:
    """Every upload: original, thumbnail and copy without metadata in S3, the record and
    its grants; and the archives of their data exports."""
    uid = item.user_id
    found = repo.media_ids(uid)
    prefixes = (media_service.UPLOADS_PREFIX, media_service.THUMBNAILS_PREFIX)
    stored = [key for prefix in prefixes for key in s3.keys_under(f"{prefix}{uid}/")]
    found |= _ids(stored)
    for media_id in sorted(found):
        record = media_repo.get(media_id, consistent=True)
        if record is not None:
            media_service.delete_files(record)
        repo.delete_media_items(media_id)
    for key in stored:
        s3.delete(key)
    for key in s3.keys_under(f"{exports_service.EXPORTS_PREFIX}{uid}/"):
        s3.delete(key)  # their data exports (the records go with their partition)


def _feeds(item: repo.ErasureItem) -> None:
    """Feed entries of the users the steps met that name the user, pseudonymised."""
    swap = swapper(item)
    for other in sorted(item.counterparts or ()):
        repo.pseudonymise_feed(other, swap)


def _suspension(item: repo.ErasureItem) -> None:
    accounts_repo.set_suspended(item.user_id, False)
    accounts.forget_suspended()


def _partition(item: repo.ErasureItem) -> None:
    """Everything left in the user's partition: profile, settings, provider profile (and
    its geo index entries), verification, offers, quotes, memberships, feed, blocks."""
    repo.delete_partition(item.user_id)


def _account(item: repo.ErasureItem) -> None:
    """AdminDeleteUser: the account is gone from the user pool."""
    cognito.delete_user(item.username)


STEPS: tuple[tuple[str, Callable[[repo.ErasureItem], None]], ...] = (
    ("personal", _personal),
    ("signin", _signin),
    ("sockets", _sockets),
    ("devices", _devices),
    ("requests", _requests),
    ("offers", _offers),
    ("jobs", _jobs),
    ("conversations", _conversations),
    ("blocks", _blocks),
    ("reports", _reports),
    ("media", _media),
    ("feeds", _feeds),
    ("suspension", _suspension),
    ("partition", _partition),
    ("account", _account),
)
"""The steps of a deletion, in order (each idempotent; names recorded on the marker)."""


# --- helpers -------------------------------------------------------------------------------


def _ids(stored: list[str]) -> set[str]:
    """The media ids in these S3 keys (``<prefix><owner>/<media id>[.<ext>]``)."""
    names = (k.rsplit("/", 1)[-1].split(".", 1)[0] for k in stored)
    return {n for n in names if ids.is_id(n)}


def _pages(
    page: Callable[[str | None], tuple[list[ServiceRequest], str | None]],
) -> Iterator[ServiceRequest]:
    cursor: str | None = None
    while True:
        found, cursor = page(cursor)
        yield from found
        if cursor is None:
            return


def _change(
    request_id: str, change: Callable[[ServiceRequest, market.Session], object]
) -> ServiceRequest | None:
    """Apply ``change`` to a request through the unit of work (its events go out: the
    other side is told; ``False`` from it: nothing to save); the request after it, None
    when there is none."""

    def decide(session: market.Session) -> ServiceRequest | None:
        request = session.request(request_id)
        if request is not None and change(request, session) is not False:
            session.save(request)
        return request

    return work().run(decide, conflict=f"request {request_id} kept changing during a deletion")
