"""The operators' word list (one item: pk=MODERATION, sk=WORDS) and user reports.

| pattern                        | key condition                            | index |
|--------------------------------|------------------------------------------|-------|
| the word list                  | pk=MODERATION, sk=WORDS                  | table |
| a report by id                 | pk=REPORT#<id>, sk=META                  | table |
| open reports, oldest first     | gsi1pk=REPORTS#open (sparse)             | gsi1  |
| reports naming a user          | pk=USER#<uid>, sk begins_with REPORTREF# | table |

Open reports grow with user reports, a small fraction of traffic; one partition is enough.
A report's links (``REPORTREF#<id>`` in the reporter's and the reported author's
partitions) are the one way to find the reports naming a user: the data export
(``store/exports.py``) and account deletion (``store/erasure.py``) read them.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UnicodeSetAttribute

from chalicelib import ids
from chalicelib.domain.market import REMOVED
from chalicelib.store import counters, keys
from chalicelib.store.marketplace.items import ReviewItem
from chalicelib.store.media import REJECTED, MediaItem
from chalicelib.store.models import (
    Entity,
    ProviderItem,
    get_or_none,
    leave_gsi1,
    transaction,
    update_if,
)
from chalicelib.store.pagination import paged
from chalicelib.store.realtime import MessageItem

OPEN, RESOLVED = "open", "resolved"


class WordsItem(Entity, discriminator="words"):
    added = UnicodeSetAttribute(null=True)
    allowed = UnicodeSetAttribute(null=True)


class ReportItem(Entity, discriminator="report"):
    report_id = UnicodeAttribute()
    reporter_id = UnicodeAttribute()
    subject_type = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    author_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    action = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)


def words() -> tuple[set[str], set[str]]:
    """(added, allowed). 1 GetItem."""
    item = get_or_none(WordsItem, *keys.WORDS)
    return (set(item.added or ()), set(item.allowed or ())) if item else (set(), set())


def change_words(add: set[str], allow: set[str], drop: set[str]) -> tuple[set[str], set[str]]:
    """Add words, allow words, or drop words from either list; the lists after. 1 GetItem
    + 1 PutItem."""
    added, allowed = words()
    added = (added | add) - drop - allow
    allowed = (allowed | allow) - drop - add
    WordsItem(
        *keys.WORDS, added=added or None, allowed=allowed or None, updated_at=ids.iso()
    ).save()
    return added, allowed


class ReportRefItem(Entity, discriminator="report_ref"):
    """pk=USER#<reporter or author>, sk=REPORTREF#<id>: a report naming the user (what
    the data export and account deletion read)."""

    report_id = UnicodeAttribute()


def add_report(item: ReportItem) -> None:
    """Store a new report (its keys set here) and its links in the partitions of the users
    it names (reporter, author). 1 TransactWriteItems."""
    item.pk, item.sk = keys.report(item.report_id), keys.META
    item.gsi1pk, item.gsi1sk = "REPORTS#open", f"{item.created_at}#{item.report_id}"
    named = dict.fromkeys(u for u in (item.reporter_id, item.author_id) if u)
    with transaction() as tx:
        tx.save(item, condition=ReportItem.pk.does_not_exist())
        for user_id in named:
            ref = keys.report_ref(item.report_id)
            tx.save(ReportRefItem(keys.user(user_id), ref, report_id=item.report_id))


def report(report_id: str) -> ReportItem | None:
    """1 GetItem (consistent)."""
    return get_or_none(ReportItem, keys.report(report_id), keys.META, consistent=True)


def open_reports(limit: int, cursor: str | None) -> tuple[list[ReportItem], str | None]:
    """Open reports, oldest first. 1 Query (gsi1)."""
    return paged(
        ReportItem.gsi1, hash_key="gsi1pk", hash_value="REPORTS#open", limit=limit,
        cursor=cursor, newest_first=False,
    )  # fmt: skip


def resolve(report_id: str, action: str, by: str, note: str | None) -> bool:
    """Close an open report (leaving the queue); False when it was not open. 1 UpdateItem."""
    item = ReportItem(keys.report(report_id), keys.META)
    actions = leave_gsi1(ReportItem, status=RESOLVED, action=action, resolved_by=by, note=note)
    return update_if(item, actions, ReportItem.status == OPEN)


# --- removing content (a report upheld) -------------------------------------------------


def review(job_id: str, side: str) -> ReviewItem | None:
    """One side's review of a job. 1 GetItem (consistent)."""
    return get_or_none(ReviewItem, keys.job(job_id), keys.review(side), consistent=True)


def remove_review(job_id: str, side: str) -> None:
    """The review's text replaced and the review taken out of the published list; a
    published customer rating leaves the provider's counters (``store/counters.py``).
    1 GetItem (+ 1 BatchGetItem: the provider's counters, for a published customer
    rating) + 1 TransactWriteItems (nothing when it is removed already)."""
    item = review(job_id, side)
    if item is None or (item.text == REMOVED and item.gsi1pk is None):
        return
    with transaction() as tx:
        tx.update(
            item,
            actions=leave_gsi1(ReviewItem, text=REMOVED),
            condition=ReviewItem.gsi1pk == item.gsi1pk
            if item.gsi1pk
            else ReviewItem.gsi1pk.does_not_exist(),
        )
        if item.gsi1pk and side == "customer":
            provider = ProviderItem(keys.user(item.subject_id), keys.PROVIDER)
            current = counters.read([item.subject_id]).get(item.subject_id)
            deltas = {"rating_count": -1, "rating_sum": -int(item.rating)}
            tx.update(
                provider,
                actions=[
                    *counters.count_actions(current, deltas),
                    ProviderItem.version.add(1),
                ],
                condition=ProviderItem.pk.exists(),
            )


def remove_message(item: MessageItem) -> None:
    """The message keeps its place in the conversation with its text replaced and its
    media dropped. 1 UpdateItem."""
    item.update(
        actions=[MessageItem.text.set(REMOVED), MessageItem.media_id.remove()],
        condition=MessageItem.pk.exists(),
    )


def remove_media(media_id: str) -> None:
    """The media record becomes rejected (never served again). 1 UpdateItem."""
    MediaItem(keys.media(media_id), keys.META).update(
        actions=[
            MediaItem.status.set(REJECTED),
            MediaItem.reason.set("removed by a moderator"),
            MediaItem.updated_at.set(ids.iso()),
        ],
        condition=MediaItem.pk.exists(),
    )
