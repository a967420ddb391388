"""The marketplace's items in the main table (PynamoDB models; keys from ``keys.py``).

| item           | key                                  | indexes                                  |
|----------------|--------------------------------------|------------------------------------------|
| request        | pk=REQ#<id>, sk=META                 | gsi1 customer's; gsi2 timer; gsi3 open  |
| offer          | pk=USER#<provider>, sk=OFFER#<id>    | gsi1 a provider's pending offers         |
| quote          | pk=USER#<customer>, sk=QUOTE#<id>    | gsi1 the quotes of a request             |
| job            | pk=JOB#<id>, sk=META                 | gsi2 review-window timer                 |
| job membership | pk=USER#<participant>, sk=JOB#<id>   |                                          |
| review         | pk=JOB#<id>, sk=REVIEW#<side>        | gsi1 published reviews about a user      |
| feed entry     | pk=USER#<recipient>, sk=NOTE#<event> | (TTL 30 days)                            |
| timer cursor   | pk=SWEEP#timers, sk=CURSOR           |                                          |
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store.models import CompactJSONAttribute, Entity


class Terms:
    """What a customer asked for, as each item of the request carries it: the request,
    the offers it made (their summary of it) and its job."""

    request_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    mode = UnicodeAttribute()
    category = UnicodeAttribute()
    description = UnicodeAttribute()
    window_start = UnicodeAttribute(null=True)
    window_end = UnicodeAttribute(null=True)


class Brief(Terms):
    """The terms with the exact place and the photos: the request and its job (the
    domain's ``Brief``); offers show the place approximately and no photos."""

    lat = NumberAttribute()
    lng = NumberAttribute()
    address = UnicodeAttribute(null=True)
    media_ids = JSONAttribute(null=True)


class RequestItem(Entity, Brief, discriminator="request"):
    """pk=REQ#<id>, sk=META; gsi1 = the customer's requests; gsi2 = its due timer."""

    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute()
    due_at = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)
    offers = JSONAttribute(null=True)
    """{provider_id: {"id", "status", "expires_at", "distance_km"}} -- every offer it made."""
    quotes = JSONAttribute(null=True)
    """{provider_id: quote_id}."""
    version = NumberAttribute(default=0)


class OfferItem(Entity, Terms, discriminator="offer"):
    """pk=USER#<provider>, sk=OFFER#<id>; gsi1 (only while pending) = my pending offers.
    A provider has at most one offer per request, so an offer's id is its request's id
    (unique among the provider's offers): offer and request are read in one BatchGetItem.
    Carries a summary of the request so a provider's list needs no second read."""

    offer_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute()
    distance_km = NumberAttribute()
    approx_lat = NumberAttribute()
    approx_lng = NumberAttribute()
    quote_id = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)


class QuoteItem(Entity, discriminator="quote"):
    """pk=USER#<customer>, sk=QUOTE#<id>; gsi1 = the quotes of its request."""

    quote_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    amount = UnicodeAttribute()
    currency = UnicodeAttribute()
    eta_minutes = NumberAttribute()
    note = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)


class JobItem(Entity, Brief, discriminator="job"):
    """pk=JOB#<id>, sk=META; gsi2 = its review-window timer once completed."""

    job_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    state = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    offer_id = UnicodeAttribute(null=True)
    quote_id = UnicodeAttribute(null=True)
    price = JSONAttribute(null=True)
    history = JSONAttribute(null=True)
    """[{"from", "to", "by", "at"}] -- every transition taken."""
    completed_at = UnicodeAttribute(null=True)
    customer_review = JSONAttribute(null=True)
    """{"rating", "at"} once the customer reviewed (the rating to publish)."""
    provider_review = JSONAttribute(null=True)
    reviews_published_at = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class JobMemberItem(Entity, discriminator="job_member"):
    """pk=USER#<participant>, sk=JOB#<id>: lists a user's jobs (never changes)."""

    job_id = UnicodeAttribute()
    role = UnicodeAttribute()


class ReviewItem(Entity, discriminator="review"):
    """pk=JOB#<id>, sk=REVIEW#<side>; gsi1 (only once published) = reviews about the
    subject, newest first."""

    review_id = UnicodeAttribute()
    job_id = UnicodeAttribute()
    side = UnicodeAttribute()
    author_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    rating = NumberAttribute()
    text = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)


class NotificationItem(Entity, discriminator="notification"):
    """pk=USER#<recipient>, sk=NOTE#<event id>: one feed entry (expires after 30 days)."""

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    at = UnicodeAttribute()
    data = CompactJSONAttribute(null=True)


class TimerCursorItem(Entity, discriminator="timer_cursor"):
    """The oldest UTC day whose timers may still be due."""

    day = UnicodeAttribute()
