"""Routes and handlers of the marketplace: requests, offers, quotes, jobs, reviews, the
notification feed, and the scheduled sweep of its timers (README "Marketplace").

Each view parses (the edge already validated), calls one service function and returns;
the DynamoDB cost of each route is stated on the service function it calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Rate

from chalicelib import config, lazy
from chalicelib.auth import CUSTOMERS, PROVIDERS
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import (
    CancelIn,
    JobOut,
    NotificationOut,
    OfferOut,
    QuoteIn,
    QuoteOut,
    RequestIn,
    RequestOut,
    RequestsQuery,
    ReviewIn,
    ReviewOut,
    TransitionIn,
)
from chalicelib.web import Call, route

if TYPE_CHECKING:
    from chalicelib.services import (
        erasure,
        jobs,
        notifications,
        offers,
        quotes,
        requests,
        reviews,
        timers,
    )
else:  # imported on first use: a cold start of another capability skips them (lazy.py)
    jobs = lazy.module("chalicelib.services.jobs")
    notifications = lazy.module("chalicelib.services.notifications")
    offers = lazy.module("chalicelib.services.offers")
    quotes = lazy.module("chalicelib.services.quotes")
    requests = lazy.module("chalicelib.services.requests")
    reviews = lazy.module("chalicelib.services.reviews")
    timers = lazy.module("chalicelib.services.timers")
    erasure = lazy.module("chalicelib.services.erasure")

bp = Blueprint(__name__)


# --- requests -----------------------------------------------------------------------------------


@route(bp, "POST /requests", body=RequestIn, status=201, role=CUSTOMERS, idempotent=True, calls=5)
def create_request(call: Call) -> RequestOut:
    """Ask for a service: nearby providers get offers (instant) or invitations (quote)."""
    return requests.create(call.principal, call.body)


@route(bp, "GET /requests", query=RequestsQuery, calls=2)
def list_requests(call: Call) -> Page[RequestOut]:
    """My requests (as customer) or the requests offered to me (as provider)."""
    return requests.list_mine(call.principal, call.query)


@route(bp, "GET /requests/{request_id}", calls=1)
def get_request(call: Call) -> RequestOut:
    """A request of mine, or one offered to me."""
    return requests.get(call.principal, call.params["request_id"])


@route(
    bp, "POST /requests/{request_id}/cancel", body=CancelIn, role=CUSTOMERS, errors=(409,), calls=4
)
def cancel_request(call: Call) -> RequestOut:
    """Cancel my request (and its job, while I still may); the body is optional."""
    return requests.cancel(call.principal, call.params["request_id"], call.body.reason)


# --- offers -------------------------------------------------------------------------------------


@route(bp, "GET /offers", query=PageQuery, role=PROVIDERS, calls=1)
def list_offers(call: Call) -> Page[OfferOut]:
    """My pending offers (each with its request_id)."""
    return offers.list_pending(call.principal, call.query)


@route(bp, "POST /offers/{offer_id}/accept", role=PROVIDERS, errors=(409,), calls=3)
def accept_offer(call: Call) -> JobOut:
    """Accept an instant offer: the first accept wins and gets the job, the rest 409."""
    return offers.accept(call.principal, call.params["offer_id"])


@route(bp, "POST /offers/{offer_id}/decline", role=PROVIDERS, errors=(409,), calls=3)
def decline_offer(call: Call) -> OfferOut:
    """Decline an offer (the next candidate is offered the request)."""
    return offers.decline(call.principal, call.params["offer_id"])


# --- quotes -------------------------------------------------------------------------------------


@route(
    bp,
    "POST /requests/{request_id}/quotes",
    body=QuoteIn,
    status=201,
    role=PROVIDERS,
    idempotent=True,
    calls=3,
)
def create_quote(call: Call) -> QuoteOut:
    """Quote on a request I was invited to: price, ETA, note."""
    return quotes.create(call.principal, call.params["request_id"], call.body)


@route(bp, "GET /requests/{request_id}/quotes", query=PageQuery, calls=2)
def list_quotes(call: Call) -> Page[QuoteOut]:
    """The quotes on my request (a provider sees only their own)."""
    return quotes.list_for_request(call.principal, call.params["request_id"], call.query)


@route(bp, "POST /quotes/{quote_id}/accept", role=CUSTOMERS, errors=(409,), calls=4)
def accept_quote(call: Call) -> JobOut:
    """Choose a quote: it becomes the job, the other quotes are declined."""
    return quotes.accept(call.principal, call.params["quote_id"])


# --- jobs and reviews ---------------------------------------------------------------------------


@route(bp, "GET /jobs", query=PageQuery, calls=2)
def list_jobs(call: Call) -> Page[JobOut]:
    """My jobs."""
    return jobs.list_mine(call.principal, call.query)


@route(bp, "GET /jobs/{job_id}", calls=1)
def get_job(call: Call) -> JobOut:
    """A job of mine."""
    return jobs.get(call.principal, call.params["job_id"])


@route(bp, "POST /jobs/{job_id}/transitions", body=TransitionIn, errors=(409,), calls=4)
def transition_job(call: Call) -> JobOut:
    """Move my job on (who may take which step: README state machine)."""
    return jobs.transition(call.principal, call.params["job_id"], call.body.to)


@route(bp, "POST /jobs/{job_id}/reviews", body=ReviewIn, status=201, errors=(409,), calls=4)
def review_job(call: Call) -> ReviewOut:
    """Review my completed job (once per side; published when both did or in 14 days)."""
    return reviews.create(call.principal, call.params["job_id"], call.body)


@route(bp, "GET /providers/{provider_id}/reviews", query=PageQuery, calls=2)
def provider_reviews(call: Call) -> Page[ReviewOut]:
    """Published reviews about a provider, newest first."""
    return reviews.about_provider(call.params["provider_id"], call.query)


# --- the feed -----------------------------------------------------------------------------------


@route(bp, "GET /notifications", query=PageQuery, calls=1)
def list_notifications(call: Call) -> Page[NotificationOut]:
    """My event feed, newest first (catch-up on any device)."""
    return notifications.feed(call.principal, call.query)


# --- timers -------------------------------------------------------------------------------------

_RATE_MINUTES = int(config.import_time(config.SCHEDULE_RATE_MINUTES) or "1")


@bp.schedule(Rate(_RATE_MINUTES, unit=Rate.MINUTES), name="marketplace_timers")
def marketplace_timers(event: Any) -> dict[str, int]:
    """Offer expiry and re-dispatch, request expiry, review windows: everything due by now
    (the local stack runs this same handler on its short period); then the account
    deletions under way go on (``services/erasure.py``)."""
    report = timers.sweep()
    report.update({f"erasures_{k}": v for k, v in erasure.resume().items()})
    return report
