"""What the image pipeline does to the pixels: thumbnails and the public, metadata-free copy."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from chalicelib.domain import media as rules

pytestmark = pytest.mark.unit

RED = (220, 20, 20)
WHITE = (255, 255, 255)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def _rotated_jpeg() -> bytes:
    """A landscape 400x200 photo whose EXIF says "rotate 90°" and carries a GPS position."""
    image = Image.new("RGB", (400, 200), RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (38.0, 42.0, 0.0)}  # GPS IFD
    return _encode(image, "JPEG", exif=exif, quality=95)


def _header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header announces width x height (its pixel data is junk)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"junk")


def _jpeg_tables(quality: int) -> dict[int, list[int]]:
    sample = Image.new("RGB", (64, 64), RED)
    return dict(_open(_encode(sample, "JPEG", quality=quality)).quantization)


# --- sniffing and upload messages ---------------------------------------------------------


def test_webp_needs_both_the_riff_and_the_webp_marks_and_twelve_bytes_suffice():
    assert rules.sniff(b"RIFF\x00\x00\x00\x00WEBP") == "image/webp"
    assert rules.sniff(b"JUNK\x00\x00\x00\x00WEBPVP8 ") is None
    assert rules.sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert rules.sniff(b"RIFF\x00\x00\x00\x00WEB") is None


def test_upload_problems_name_the_allowed_values():
    assert rules.upload_problem("selfie", "image/png", 1) == (
        "purpose: one of avatar, request_photo, chat_image, document."
    )
    assert rules.upload_problem("avatar", "image/gif", 1) == (
        "content_type: a avatar must be one of image/jpeg, image/png, image/webp."
    )
    assert rules.upload_problem("avatar", "image/png", 6 * rules.MiB) == (
        f"size_bytes: a avatar may be at most {5 * rules.MiB} bytes (5 MiB); "
        f"this one is {6 * rules.MiB} bytes."
    )


def test_a_file_larger_than_announced_says_by_how_much():
    assert rules.file_problem("avatar", "image/png", 10, 20, b"\x89PNG\r\n\x1a\n") == (
        "The file is 20 bytes, more than the 10 bytes announced for this upload."
    )


# --- thumbnails ---------------------------------------------------------------------------


def test_the_pixel_limit_is_inclusive_and_counts_the_area():
    at_limit = _header_only_png(8000, 5000)  # exactly MAX_PIXELS: allowed, then decoded
    with pytest.raises(rules.NotAnImage, match=r"^The image could not be decoded \("):
        rules.thumbnail(at_limit, "image/png")
    with pytest.raises(rules.NotAnImage, match=r"^The image is 8000x5001 pixels; at most 40000000"):
        rules.thumbnail(_header_only_png(8000, 5001), "image/png")
    with pytest.raises(rules.NotAnImage, match="at most 40000000 pixels"):
        rules.thumbnail(_header_only_png(40_000, 1001), "image/png")


def test_thumbnail_applies_the_exif_orientation_and_reports_the_stored_size():
    thumb = rules.thumbnail(_rotated_jpeg(), "image/jpeg")
    assert (thumb.width, thumb.height) == (400, 200)
    assert _open(thumb.jpeg).size == (160, 320)


@pytest.mark.parametrize(
    "transparent",
    [
        Image.new("RGBA", (40, 40), (*RED, 0)),
        Image.new("LA", (40, 40), (90, 0)),
    ],
    ids=["RGBA", "LA"],
)
def test_transparent_pixels_become_white_in_the_thumbnail(transparent: Image.Image):
    thumb = _open(rules.thumbnail(_encode(transparent, "PNG"), "image/png").jpeg)
    assert thumb.mode == "RGB"
    assert _close(thumb.getpixel((20, 20)), WHITE)


def test_a_palette_image_with_a_transparent_index_is_flattened_on_white():
    image = Image.new("P", (40, 40), 1)
    image.putpalette([*RED, *(0, 0, 255)] + [0] * 762)
    data = _encode(image, "PNG", transparency=1)  # index 1 (blue) is transparent
    thumb = _open(rules.thumbnail(data, "image/png").jpeg)
    assert _close(thumb.getpixel((20, 20)), WHITE)


def test_an_opaque_palette_image_gets_a_thumbnail_in_its_colours():
    image = Image.new("P", (40, 40), 1)
    image.putpalette([0, 0, 0, *RED] + [0] * 762)
    thumb = _open(rules.thumbnail(_encode(image, "PNG"), "image/png").jpeg)
    assert thumb.mode == "RGB"
    assert _close(thumb.getpixel((20, 20)), RED)


def test_a_greyscale_image_gets_a_colour_jpeg_thumbnail():
    thumb = _open(rules.thumbnail(_encode(Image.new("L", (40, 40), 90), "PNG"), "image/png").jpeg)
    assert thumb.mode == "RGB"
    assert _close(thumb.getpixel((20, 20)), (90, 90, 90))


def test_thumbnail_is_a_quality_80_jpeg():
    thumb = rules.thumbnail(_encode(Image.new("RGB", (640, 480), RED), "PNG"), "image/png").jpeg
    assert dict(_open(thumb).quantization) == _jpeg_tables(80)


def test_undecodable_bytes_say_why():
    with pytest.raises(rules.NotAnImage, match=r"^The image could not be decoded \("):
        rules.thumbnail(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png")


# --- the metadata-free public copy --------------------------------------------------------


def test_the_public_copy_of_a_photo_has_no_exif_and_looks_the_same():
    clean = _open(rules.without_metadata(_rotated_jpeg(), "image/jpeg"))
    assert clean.format == "JPEG"
    assert not clean.getexif()
    assert "exif" not in clean.info
    assert clean.size == (200, 400)  # the orientation is applied, not dropped
    assert _close(clean.getpixel((100, 200)), RED)
    assert dict(clean.quantization) == _jpeg_tables(90)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_the_public_copy_of_a_jpeg_keeps_its_colour_mode(mode: str):
    source = Image.new(mode, (30, 30), 90 if mode == "L" else (10, 200, 30, 0))
    clean = _open(rules.without_metadata(_encode(source, "JPEG"), "image/jpeg"))
    assert clean.mode == mode


def test_the_public_copy_of_a_png_keeps_transparency_and_drops_text():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home, 12 Rua Augusta")
    source = Image.new("RGBA", (30, 30), (*RED, 100))
    clean = _open(rules.without_metadata(_encode(source, "PNG", pnginfo=info), "image/png"))
    assert clean.format == "PNG"
    assert clean.mode == "RGBA"
    assert clean.getpixel((5, 5)) == (*RED, 100)
    assert "Comment" not in clean.info


def test_the_public_copy_of_a_palette_png_keeps_its_colours():
    image = Image.new("P", (30, 30), 1)
    image.putpalette([0, 0, 0, *RED] + [0] * 762)
    clean = _open(rules.without_metadata(_encode(image, "PNG"), "image/png"))
    assert clean.mode == "P"
    assert clean.convert("RGB").getpixel((5, 5)) == RED


def test_the_public_copy_of_a_webp_is_a_quality_90_webp():
    source = Image.new("RGB", (64, 64))
    source.putdata([((x * 7) % 256, (x * 13) % 256, (x // 64) * 4) for x in range(64 * 64)])
    clean = rules.without_metadata(_encode(source, "WEBP", quality=100), "image/webp")
    assert _open(clean).format == "WEBP"
    pixels = _open(_encode(source, "WEBP", quality=100)).convert("RGB")
    assert clean == _encode(pixels, "WEBP", quality=90)


def test_the_public_copy_is_written_in_the_declared_format():
    """Bytes that turned out to be another image are re-encoded as the declared type
    (transparency flattened for a JPEG)."""
    png = _encode(Image.new("RGBA", (20, 20), (*RED, 255)), "PNG")
    clean = _open(rules.without_metadata(png, "image/jpeg"))
    assert clean.format == "JPEG" and clean.mode == "RGB"


def test_the_public_copy_refuses_what_is_not_an_image():
    with pytest.raises(rules.NotAnImage, match=r"^application/pdf is not an image type\.$"):
        rules.without_metadata(b"%PDF-1.7", "application/pdf")
    with pytest.raises(rules.NotAnImage, match=r"^The image could not be decoded \("):
        rules.without_metadata(b"not an image at all", "image/png")
