"""Every key of the main table is built here, and nowhere else."""

from __future__ import annotations

import zlib

from chalicelib.domain import geo

PROFILE = "PROFILE"
SETTINGS = "SETTINGS"
PROVIDER = "PROVIDER"


def user(user_id: str) -> str:
    return f"USER#{user_id}"


def _shard(value: str, shards: int) -> int:
    return zlib.crc32(value.encode()) % shards


def geo_partition(partition: str) -> str:
    """gsi3pk of the geo index (a band x block partition, :mod:`chalicelib.domain.geo`)."""
    return f"GEO#{partition}"


GEO_INDEX_ATTRIBUTES = ("gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk")
"""The attributes that put an online provider in the geo indexes (removed when offline)."""


def geo_index(lat: float, lng: float, provider_id: str) -> dict[str, str]:
    """The geo index attributes of an online provider at this location: the band index
    (gsi3) and the fine index (gsi4), :data:`GEO_INDEX_ATTRIBUTES`."""
    partition, sort = geo.index_key(lat, lng, provider_id)
    fine, fine_sort = geo.fine_index_key(lat, lng, provider_id)
    return {
        "gsi3pk": geo_partition(partition),
        "gsi3sk": sort,
        "gsi4pk": geo_partition(fine),
        "gsi4sk": fine_sort,
    }


CATALOG = ("CATALOG", "CATEGORIES")

# --- conversations (store/conversations.py) ---------------------------------------------
META = "META"


def conversation(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


# --- devices and media (store/devices.py, store/media.py) --------------------------------
DEVICE_SHARDS = 16
"""Devices are also indexed in ``DEVICES#00``..``DEVICES#15`` (gsi1) so announcements can
page through every device owner shard by shard, never a Scan, and no hot partition."""
TOKEN = "TOKEN"
PUSH = "PUSH"
"""sk of a user's push targets item (the endpoints of all their devices, one item)."""


def device(device_id: str) -> str:
    return f"DEVICE#{device_id}"


def device_token(platform: str, token_sha256: str) -> str:
    return f"TOKEN#{platform}#{token_sha256}"


def device_shard(shard: int) -> str:
    return f"DEVICES#{shard:02d}"


def device_owner_sort(user_id: str, device_id: str) -> str:
    return f"{user_id}#{device_id}"


def media(media_id: str) -> str:
    return f"MEDIA#{media_id}"


def media_viewer(user_id: str) -> str:
    return f"VIEWER#{user_id}"


def owner_media(user_id: str) -> str:
    """gsi1pk of the media records a user uploaded (gsi1sk: the media id; their data export
    and their account deletion find them here)."""
    return f"MEDIAOF#{user_id}"


def viewer_grants(user_id: str) -> str:
    """gsi1pk of the grants that let a user read others' media (their data export)."""
    return f"VIEWS#{user_id}"


def announcement(message_id: str, part: str) -> str:
    """pk of the pages of one part (``live-03``, ``push-11``: an index and its shard) of an
    announcement's fan-out: its pages' claims spread over 32 partitions."""
    return f"ANNOUNCEMENT#{message_id}#{part}"


def announcement_page(page: int) -> str:
    return f"PAGE#{page:06d}"


# --- real time (store/connections.py, store/realtime.py) -----------------------------------
SOCKETS = "SOCKETS"
LOCATION = "LOCATION"
CONNECTION_SHARDS = 16
"""Connection records are also indexed in ``CONNS#00``..``CONNS#15`` (gsi1), so a broadcast
(announcements) pages through every live socket shard by shard, never a Scan."""


def connection(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def connection_shard(shard: int) -> str:
    return f"CONNS#{shard:02d}"


def message(seq: int) -> str:
    """Messages sort by their per-conversation sequence number (zero-padded)."""
    return f"MSG#{seq:012d}"


def client_message(sender_id: str, client_msg_id: str) -> str:
    """A message's sort key: its sender's ``client_msg_id`` (so storing it is its dedupe);
    its sequence number is its ``lsi1sk`` (:func:`message`)."""
    return f"CMID#{sender_id}#{client_msg_id}"


def job_location(job_id: str) -> tuple[str, str]:
    """The last live position of a job's provider (kept beside the job's own items)."""
    return job(job_id), LOCATION


# --- marketplace (store/marketplace/) -----------------------------------------------------
def request(request_id: str) -> str:
    return f"REQ#{request_id}"


def customer_requests(customer_id: str) -> str:
    """gsi1pk of a customer's requests (gsi1sk: the request id, so newest last)."""
    return f"REQS#{customer_id}"


OFFER_PREFIX = "OFFER#"


def offer(offer_id: str) -> str:
    """sk of an offer, kept in its provider's partition (``USER#<provider>``)."""
    return f"{OFFER_PREFIX}{offer_id}"


def pending_offers(provider_id: str) -> str:
    """gsi1pk of a provider's *pending* offers (sparse: removed when the offer is answered)."""
    return f"OFFERS#{provider_id}"


def quote(quote_id: str) -> str:
    """sk of a quote, kept in the customer's partition (``USER#<customer>``)."""
    return f"QUOTE#{quote_id}"


def request_quotes(request_id: str) -> str:
    """gsi1pk of the quotes of one request."""
    return f"QUOTES#{request_id}"


JOB_PREFIX = "JOB#"


def job(job_id: str) -> str:
    """pk of a job (sk META) and, in a participant's partition, sk of its membership."""
    return f"{JOB_PREFIX}{job_id}"


def review(side: str) -> str:
    """sk of one side's review, in the job's partition."""
    return f"REVIEW#{side}"


def reviews_about(subject_role: str, user_id: str) -> str:
    """gsi1pk of the *published* reviews about a provider (``provider``) or a customer."""
    return f"REVIEWS#{subject_role}#{user_id}"


DUE_SHARDS = 16
"""Write shards of a day's timers (ADR 0015): every request and job item with a timer is
in the due index, and each write to it rewrites its entry (the index projects all), so one
partition a day took about 6 write units per request: 100 requests/s is 600 of one
partition's 1,000 writes a second. The sweep reads the 16 shards of a day."""


def due(day: str, ref: str) -> str:
    """gsi2pk of a timer due on a UTC day (``YYYY-MM-DD``) of the item ``ref`` (its pk):
    sparse, :data:`DUE_SHARDS` partitions a day, the shard from ``ref`` (an item's timer
    stays in one shard as it moves within the day)."""
    return f"DUE#{day}#{_shard(ref, DUE_SHARDS):02d}"


def due_shards(day: str) -> list[str]:
    """Every gsi2pk of a day's timers (what the sweep reads): the shards, and the day's one
    partition of before the shards (timers armed before the deploy that added them; drop
    it once no such timer can be left)."""
    return [f"DUE#{day}", *(f"DUE#{day}#{n:02d}" for n in range(DUE_SHARDS))]


def due_sort(due_iso: str, ref: str) -> str:
    """gsi2sk of a timer: due instant first, so ``<= now`` is a key condition."""
    return f"{due_iso}#{ref}"


TIMER_CURSOR = ("SWEEP#timers", "CURSOR")
"""The oldest day whose timers may still be due (the sweep's catch-up point)."""

NOTE_PREFIX = "NOTE#"


def note(event_id: str) -> str:
    """sk of a feed entry in its recipient's partition (event ids are ULIDs: time order)."""
    return f"{NOTE_PREFIX}{event_id}"


# --- accounts and operators (store/accounts.py) -------------------------------------------
APPROVAL = "APPROVAL"
"""sk of a provider's verification, in the user's partition."""
SUSPENDED = ("ACCOUNTS", "SUSPENDED")
"""The one item listing every suspended account (the edge refuses them)."""


def approvals(status: str) -> str:
    """gsi1pk of the provider verifications waiting for an operator (sparse: pending only)."""
    return f"APPROVALS#{status}"


def audit(month: str) -> str:
    """pk of the operators' audit log of a month (``YYYY-MM``)."""
    return f"AUDIT#{month}"


def block(user_id: str) -> str:
    """sk of a block, in the blocker's partition (``USER#<blocker>``)."""
    return f"BLOCK#{user_id}"


def blocked_by(user_id: str) -> str:
    """sk of the mirror of a block, in the blocked user's partition (never shown to them)."""
    return f"BLOCKEDBY#{user_id}"


WORDS = ("MODERATION", "WORDS")
"""The operators' additions to (and exceptions from) the objectionable-words list."""


# --- operators' live figures (store/metrics.py) -------------------------------------------
METRIC_SHARDS = 16
"""Every counter is split over ``METRICS#00``..``METRICS#15`` (by the counted thing's id), so
concurrent changes rarely write the same item; one BatchGetItem reads them all."""
METRICS_LIVE = "LIVE"


def metrics(ref: str) -> str:
    """pk of the counter shard that counts ``ref`` (a provider, request or job id)."""
    return f"METRICS#{_shard(ref, METRIC_SHARDS):02d}"


def metric_shards() -> list[str]:
    return [f"METRICS#{n:02d}" for n in range(METRIC_SHARDS)]


def metrics_day(day: str) -> str:
    """sk of a UTC day's figures (``YYYY-MM-DD``) in a counter shard."""
    return f"DAY#{day}"


OPEN_SHARDS = 4
"""Write shards of each band of the operators' map of open requests: a metro's requests
share one band, and at 10x the metro scenario one partition would take about 1,000 WCU/s."""


def open_requests(partition: str, request_id: str) -> str:
    """gsi3pk of an open request on the operators' map: the geo index's band, under a prefix
    of its own so matching never reads it, in one of :data:`OPEN_SHARDS` write shards (from
    the request id)."""
    return f"OPEN#{partition}#{_shard(request_id, OPEN_SHARDS):02d}"


def open_requests_shards(partition: str) -> list[str]:
    """Every gsi3pk of a band of the operators' map (the map reads them all)."""
    return [f"OPEN#{partition}#{n:02d}" for n in range(OPEN_SHARDS)]


# --- data exports (store/exports.py) -------------------------------------------------------
EXPORTING = "EXPORTING"
"""sk of a user's export being built, in their partition: at most one at a time."""


def export(export_id: str) -> str:
    """sk of a data export, in its user's partition."""
    return f"EXPORT#{export_id}"


# --- account deletion (store/erasure.py) ----------------------------------------------------


def erasure(user_id: str) -> str:
    """pk of a deletion under way (its marker)."""
    return f"ERASURE#{user_id}"


def report(report_id: str) -> str:
    """pk of a user report (store/moderation.py)."""
    return f"REPORT#{report_id}"


REPORT_REF_PREFIX = "REPORTREF#"


def report_ref(report_id: str) -> str:
    """sk of a report's link in the reporter's and the reported author's partitions: how
    the data export and account deletion find the reports naming a user without a Scan."""
    return f"{REPORT_REF_PREFIX}{report_id}"


# --- per-user limits (store/limits.py) ---------------------------------------------------
def rate_window(name: str, window: int) -> str:
    """sk of a rate counter (``name``: what it counts) for one fixed time window, under the
    pk of what it counts for (a connection, a user)."""
    return f"RATE#{name}#{window}"
