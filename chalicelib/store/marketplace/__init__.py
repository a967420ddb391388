"""Marketplace storage: requests with their offers and quotes, jobs, reviews, due timers
and the notification feed, in the main table.

Services see domain objects and opaque cursors only: keys, index names and stored forms
stay in this package. Changes go through the unit of work (:mod:`.unit_of_work`; what a
change writes: :mod:`.staging`); lists, the geo index and the timers are in :mod:`.queries`.
"""

from chalicelib.store.marketplace.changes import MAX_WRITES, Stale
from chalicelib.store.marketplace.queries import (
    customer_requests,
    day_of,
    days_between,
    due_on,
    feed,
    get_job,
    get_request,
    move_timer_cursor,
    offered_requests,
    online_providers_in,
    provider_offers,
    quote,
    request_quotes,
    requests_by_id,
    reviews_about,
    save_feed,
    timer_cursor,
    user_jobs,
)
from chalicelib.store.marketplace.unit_of_work import (
    MAX_ATTEMPTS,
    CheckFailed,
    Notice,
    Session,
    UnitOfWork,
    feed_entries,
)

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_WRITES",
    "CheckFailed",
    "Notice",
    "Session",
    "Stale",
    "UnitOfWork",
    "customer_requests",
    "day_of",
    "days_between",
    "due_on",
    "feed",
    "feed_entries",
    "get_job",
    "get_request",
    "move_timer_cursor",
    "offered_requests",
    "online_providers_in",
    "provider_offers",
    "quote",
    "request_quotes",
    "requests_by_id",
    "reviews_about",
    "save_feed",
    "timer_cursor",
    "user_jobs",
]
