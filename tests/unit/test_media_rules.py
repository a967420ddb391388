"""Upload rules per purpose, magic-byte sniffing, thumbnails, announcement parsing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.domain import media as rules
from chalicelib.services.announcements import parse

pytestmark = pytest.mark.unit


def _png(w: int = 800, h: int = 600, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (w, h), (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)).save(
        out, format="PNG"
    )
    return out.getvalue()


def test_sniff_knows_the_accepted_types_and_nothing_else():
    assert rules.sniff(_png(4, 4)) == "image/png"
    assert rules.sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert rules.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert rules.sniff(b"%PDF-1.7\n") == "application/pdf"
    assert rules.sniff(b"hello, I am a PNG, trust me") is None
    assert rules.sniff(b"") is None


def test_every_purpose_has_types_and_a_limit():
    assert set(rules.PURPOSES) == {"avatar", "request_photo", "chat_image", "document"}
    for purpose in rules.PURPOSES.values():
        assert purpose.types and purpose.max_bytes >= rules.MiB


@pytest.mark.parametrize(
    ("purpose", "content_type", "size", "problem"),
    [
        ("avatar", "image/png", 1000, None),
        ("document", "application/pdf", 20 * rules.MiB, None),
        ("avatar", "image/png", 10 * 1024**3, "size_bytes"),
        ("avatar", "image/gif", 1000, "content_type"),
        ("document", "image/png", 1000, "content_type"),
        ("selfie", "image/png", 1000, "purpose"),
    ],
)
def test_upload_problem(purpose, content_type, size, problem):
    found = rules.upload_problem(purpose, content_type, size)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_file_problem_checks_real_size_and_real_type():
    png = _png(4, 4)
    assert rules.file_problem("avatar", "image/png", len(png), len(png), png) is None
    assert "more than" in rules.file_problem("avatar", "image/png", 10, len(png), png)
    assert "not a image/png" in rules.file_problem("avatar", "image/png", 100, 20, b"plain text")
    assert "content is image/png" in rules.file_problem("avatar", "image/jpeg", 999, 60, png)
    assert rules.file_problem("avatar", "image/png", 10, 0, b"") == "The file is empty."


def test_thumbnail_is_a_smaller_jpeg_and_keeps_the_original_size():
    thumb = rules.thumbnail(_png(1200, 600), "image/png")
    assert (thumb.width, thumb.height) == (1200, 600)
    image = Image.open(io.BytesIO(thumb.jpeg))
    assert image.format == "JPEG"
    assert max(image.size) == rules.THUMBNAIL_PX
    assert image.size == (320, 160)


def test_thumbnail_flattens_transparency():
    thumb = rules.thumbnail(_png(50, 50, "RGBA"), "image/png")
    assert Image.open(io.BytesIO(thumb.jpeg)).mode == "RGB"


def test_a_truncated_or_mislabelled_image_is_not_an_image():
    png = _png(300, 300)
    with pytest.raises(rules.NotAnImage):
        rules.thumbnail(png[:200], "image/png")
    with pytest.raises(rules.NotAnImage, match="PNG, not image/webp"):
        rules.thumbnail(png, "image/webp")


def test_announcement_messages_json_or_plain_text():
    assert parse("Hi", '{"title": "Maintenance", "body": "Tonight"}') == {
        "title": "Maintenance",
        "body": "Tonight",
        "data": {},
        "audience": "all",
    }
    assert parse("New in Lisbon", "Movers are here.") == {
        "title": "New in Lisbon",
        "body": "Movers are here.",
        "data": {},
        "audience": "all",
    }
    # as POST /admin/announcements publishes it, or with the audience at the top
    message = '{"title": "T", "body": "B", "data": {"audience": "providers"}}'
    assert parse(None, message)["audience"] == "providers"
    assert parse(None, '{"title": "T", "audience": "customers"}')["audience"] == "customers"
    assert parse(None, "[1, 2]")["title"] == "Summon"
