"""Reports of users and their content, and what operators do about them.

``POST /reports`` takes a user, message, review, media or request the reporter can see (404
otherwise, so a report reveals nothing). Operators resolve each open report with one of:

* ``dismiss``: nothing changes;
* ``remove_content``: the message, review, photo or request is removed for everyone — a
  message and a review keep their place with the text replaced, a removed review's rating
  leaves the provider's summary, a photo is deleted from storage and no longer served, an
  open request ends with its offers withdrawn (a user cannot be removed: suspend it);
* ``suspend_user``: the content's author is suspended (``services/admin.py``).
"""

from __future__ import annotations

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain.market import REMOVED
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict, Invalid, NotFound
from chalicelib.schemas.accounts import DecisionIn, ReportIn, ReportOut, ResolveIn
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.services import admin, media
from chalicelib.services.work import work
from chalicelib.store import accounts as accounts_repo
from chalicelib.store import marketplace as market
from chalicelib.store import media as media_repo
from chalicelib.store import moderation as repo
from chalicelib.store import profiles as profiles_repo
from chalicelib.store import realtime as chat_repo


def _out(item: repo.ReportItem, staff: bool) -> ReportOut:
    return ReportOut(
        id=item.report_id,
        subject_type=item.subject_type,  # type: ignore[arg-type]
        subject_id=item.subject_id,
        reason=item.reason,
        text=item.text,
        status=item.status,  # type: ignore[arg-type]
        created_at=item.created_at or "",
        reporter_id=item.reporter_id if staff else None,
        author_id=item.author_id if staff else None,
        action=item.action,
    )


def _pair(subject_id: str) -> tuple[str, str]:
    head, _, tail = subject_id.partition(":")
    if not head or not tail:
        raise Invalid("subject_id: <id>:<part> for messages and reviews.")
    return head, tail


def _author(user_id: str, kind: str, subject_id: str) -> str:
    """The author of what ``user_id`` reports; 404 when they cannot see it."""
    missing = NotFound(f"No {kind} {subject_id} you can see.")
    if kind == "user":
        if profiles_repo.get_user(subject_id) is None:
            raise missing
        return subject_id
    if kind == "request":
        request = market.get_request(subject_id)
        if request is None or not request.visible_to(user_id):
            raise missing
        return request.customer_id
    if kind == "media":
        item, granted = media_repo.get_with_grant(subject_id, user_id)
        if item is None or (item.owner_id != user_id and not granted):
            raise missing
        return item.owner_id
    head, tail = _pair(subject_id)
    if kind == "message":
        conv = chat_repo.conversation(head)
        found = _message(head, tail) if conv and user_id in (conv.participants or []) else None
        if found is None:
            raise missing
        return found.sender_id
    job = market.get_job(head)
    review = repo.review(head, tail) if job else None
    visible = job is not None and (
        user_id in (job.customer_id, job.provider_id)
        or (review is not None and review.published_at is not None)
    )
    if review is None or not visible:
        raise missing
    return review.author_id


def _message(conversation_id: str, seq: str) -> chat_repo.MessageItem | None:
    if not seq.isdecimal():
        return None
    found, _ = chat_repo.messages_after(conversation_id, int(seq) - 1, 1)
    return found[0] if found and int(found[0].seq) == int(seq) else None


def report(principal: Principal, body: ReportIn) -> ReportOut:
    """``POST /reports``: 201 with the open report; 400 for reporting oneself."""
    if body.subject_type == "user" and body.subject_id == principal.user_id:
        raise Invalid("You cannot report yourself.")
    author = _author(principal.user_id, body.subject_type, body.subject_id)
    rid, now = ids.new_id(), ids.iso()
    item = repo.ReportItem(
        report_id=rid, reporter_id=principal.user_id, subject_type=body.subject_type,
        subject_id=body.subject_id, author_id=author,
        reason=body.reason, text=body.text, status=repo.OPEN, created_at=now, updated_at=now,
    )  # fmt: skip
    repo.add_report(item)
    return _out(item, staff=False)


def queue(query: PageQuery) -> Page[ReportOut]:
    """``GET /admin/reports``: open reports, oldest first."""
    items, cursor = repo.open_reports(query.limit, query.cursor)
    return Page[ReportOut](items=[_out(i, staff=True) for i in items], cursor=cursor)


def resolve(operator: Principal, report_id: str, body: ResolveIn) -> ReportOut:
    """``POST /admin/reports/{id}/resolve``: 404 for no such report, 409 when it is
    resolved already, 400 for removing a user."""
    item = repo.report(report_id) if ids.is_id(report_id) else None
    if item is None:
        raise NotFound(f"No report {report_id}.")
    if item.status != repo.OPEN:
        raise Conflict(f"Report {report_id} is resolved already ({item.action}).")
    if body.action == "remove_content":
        _remove(item.subject_type, item.subject_id)
    elif body.action == "suspend_user" and item.author_id:
        admin.suspend(operator, item.author_id, DecisionIn(reason=f"report {report_id}"))
    if not repo.resolve(report_id, body.action, operator.user_id, body.note):
        raise Conflict(f"Report {report_id} is resolved already.")
    accounts_repo.record(operator.user_id, f"report.{body.action}", report_id, {"note": body.note})
    found = repo.report(report_id)
    assert found is not None
    return _out(found, staff=True)


def _remove(kind: str, subject_id: str) -> None:
    if kind == "user":
        raise Invalid("A user cannot be removed: resolve with suspend_user.")
    if kind == "request":

        def decide(session: market.Session) -> None:
            request: ServiceRequest | None = session.request(subject_id)
            if request is not None and request.description != REMOVED:
                request.remove()
                session.save(request)

        work().run(decide, conflict=f"Request {subject_id} kept changing; retry.")
    elif kind == "media":
        item = media_repo.get(subject_id)
        if item is not None:
            repo.remove_media(subject_id)
            media.delete_files(item)
    elif kind == "message":
        head, tail = _pair(subject_id)
        found = _message(head, tail)
        if found is not None:
            repo.remove_message(found)
    else:
        head, tail = _pair(subject_id)
        repo.remove_review(head, tail)
