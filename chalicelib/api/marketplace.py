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


@route(
    bp,
    "/requests",
    method="POST",
    summary="Ask for a service: nearby providers get offers (instant) or invitations (quote)",
    body=RequestIn,
    response=RequestOut,
    status=201,
    roles=(CUSTOMERS,),
    idempotent=True,
    calls=5,
)
def create_request(call: Call) -> RequestOut:
    return requests.create(call.principal, call.body)


@route(
    bp,
    "/requests",
    method="GET",
    summary="My requests (as customer) or the requests offered to me (as provider)",
    query=RequestsQuery,
    response=Page[RequestOut],
    calls=2,
)
def list_requests(call: Call) -> Page[RequestOut]:
    return requests.list_mine(call.principal, call.query)


@route(
    bp,
    "/requests/{request_id}",
    method="GET",
    summary="A request of mine, or one offered to me",
    response=RequestOut,
    errors=(404,),
    calls=1,
)
def get_request(call: Call) -> RequestOut:
    return requests.get(call.principal, call.params["request_id"])


@route(
    bp,
    "/requests/{request_id}/cancel",
    method="POST",
    summary="Cancel my request (and its job, while I still may); the body is optional",
    body=CancelIn,
    response=RequestOut,
    roles=(CUSTOMERS,),
    errors=(404, 409),
    calls=4,
)
def cancel_request(call: Call) -> RequestOut:
    return requests.cancel(call.principal, call.params["request_id"], call.body.reason)


# --- offers -------------------------------------------------------------------------------------


@route(
    bp,
    "/offers",
    method="GET",
    summary="My pending offers (each with its request_id)",
    query=PageQuery,
    response=Page[OfferOut],
    roles=(PROVIDERS,),
    calls=1,
)
def list_offers(call: Call) -> Page[OfferOut]:
    return offers.list_pending(call.principal, call.query)


@route(
    bp,
    "/offers/{offer_id}/accept",
    method="POST",
    summary="Accept an instant offer: the first accept wins and gets the job, the rest 409",
    response=JobOut,
    roles=(PROVIDERS,),
    errors=(404, 409),
    calls=3,
)
def accept_offer(call: Call) -> JobOut:
    return offers.accept(call.principal, call.params["offer_id"])


@route(
    bp,
    "/offers/{offer_id}/decline",
    method="POST",
    summary="Decline an offer (the next candidate is offered the request)",
    response=OfferOut,
    roles=(PROVIDERS,),
    errors=(404, 409),
    calls=3,
)
def decline_offer(call: Call) -> OfferOut:
    return offers.decline(call.principal, call.params["offer_id"])


# --- quotes -------------------------------------------------------------------------------------


@route(
    bp,
    "/requests/{request_id}/quotes",
    method="POST",
    summary="Quote on a request I was invited to: price, ETA, note",
    body=QuoteIn,
    response=QuoteOut,
    status=201,
    roles=(PROVIDERS,),
    idempotent=True,
    errors=(404, 409),
    calls=3,
)
def create_quote(call: Call) -> QuoteOut:
    return quotes.create(call.principal, call.params["request_id"], call.body)


@route(
    bp,
    "/requests/{request_id}/quotes",
    method="GET",
    summary="The quotes on my request (a provider sees only their own)",
    query=PageQuery,
    response=Page[QuoteOut],
    errors=(404,),
    calls=2,
)
def list_quotes(call: Call) -> Page[QuoteOut]:
    return quotes.list_for_request(call.principal, call.params["request_id"], call.query)


@route(
    bp,
    "/quotes/{quote_id}/accept",
    method="POST",
    summary="Choose a quote: it becomes the job, the other quotes are declined",
    response=JobOut,
    roles=(CUSTOMERS,),
    errors=(404, 409),
    calls=4,
)
def accept_quote(call: Call) -> JobOut:
    return quotes.accept(call.principal, call.params["quote_id"])


# --- jobs and reviews ---------------------------------------------------------------------------


@route(
    bp,
    "/jobs",
    method="GET",
    summary="My jobs",
    query=PageQuery,
    response=Page[JobOut],
    calls=2,
)
def list_jobs(call: Call) -> Page[JobOut]:
    return jobs.list_mine(call.principal, call.query)


@route(
    bp,
    "/jobs/{job_id}",
    method="GET",
    summary="A job of mine",
    response=JobOut,
    errors=(404,),
    calls=1,
)
def get_job(call: Call) -> JobOut:
    return jobs.get(call.principal, call.params["job_id"])


@route(
    bp,
    "/jobs/{job_id}/transitions",
    method="POST",
    summary="Move my job on (who may take which step: README state machine)",
    body=TransitionIn,
    response=JobOut,
    errors=(404, 409),
    calls=4,
)
def transition_job(call: Call) -> JobOut:
    return jobs.transition(call.principal, call.params["job_id"], call.body.to)


@route(
    bp,
    "/jobs/{job_id}/reviews",
    method="POST",
    summary="Review my completed job (once per side; published when both did or in 14 days)",
    body=ReviewIn,
    response=ReviewOut,
    status=201,
    errors=(404, 409),
    calls=4,
)
def review_job(call: Call) -> ReviewOut:
    return reviews.create(call.principal, call.params["job_id"], call.body)


@route(
    bp,
    "/providers/{provider_id}/reviews",
    method="GET",
    summary="Published reviews about a provider, newest first",
    query=PageQuery,
    response=Page[ReviewOut],
    errors=(404,),
    calls=2,
)
def provider_reviews(call: Call) -> Page[ReviewOut]:
    return reviews.about_provider(call.params["provider_id"], call.query)


# --- the feed -----------------------------------------------------------------------------------


@route(
    bp,
    "/notifications",
    method="GET",
    summary="My event feed, newest first (catch-up on any device)",
    query=PageQuery,
    response=Page[NotificationOut],
    calls=1,
)
def list_notifications(call: Call) -> Page[NotificationOut]:
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
