"""Media rules, pure: what each upload purpose accepts, and what a file really is.

| purpose         | types                          | max size | thumbnail |
|-----------------|--------------------------------|----------|-----------|
| ``avatar``        | image/jpeg, image/png, image/webp | 5 MiB    | yes       |
| ``request_photo`` | image/jpeg, image/png, image/webp | 10 MiB   | yes       |
| ``chat_image``    | image/jpeg, image/png, image/webp | 10 MiB   | yes       |
| ``document``      | application/pdf                | 20 MiB   | no        |

Images are also limited to :data:`MAX_PIXELS` (decompression bombs) and get a JPEG
thumbnail at most :data:`THUMBNAIL_PX` on its longer side. HEIC is not accepted (Pillow
cannot decode it without a native plug-in): iOS apps upload JPEG (``jpegData``).
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
MAX_PIXELS = 40_000_000
THUMBNAIL_PX = 320
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class Purpose:
    name: str
    types: tuple[str, ...]
    max_bytes: int
    thumbnail: bool


PURPOSES: dict[str, Purpose] = {
    p.name: p
    for p in (
        Purpose("avatar", IMAGE_TYPES, 5 * MiB, True),
        Purpose("request_photo", IMAGE_TYPES, 10 * MiB, True),
        Purpose("chat_image", IMAGE_TYPES, 10 * MiB, True),
        Purpose("document", ("application/pdf",), 20 * MiB, False),
    )
}


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes of a file prove, or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def upload_problem(purpose: str, content_type: str, size_bytes: int) -> str | None:
    """Why an upload may not even start (None: it may)."""
    rule = PURPOSES.get(purpose)
    if rule is None:
        return f"purpose: one of {', '.join(PURPOSES)}."
    if content_type not in rule.types:
        return f"content_type: a {purpose} must be one of {', '.join(rule.types)}."
    if size_bytes > rule.max_bytes:
        return (
            f"size_bytes: a {purpose} may be at most {rule.max_bytes} bytes "
            f"({rule.max_bytes // MiB} MiB); this one is {size_bytes} bytes."
        )
    return None


def file_problem(
    purpose: str, declared_type: str, declared_size: int, actual_size: int, head: bytes
) -> str | None:
    """Why a stored file is rejected (None: its bytes are what was declared)."""
    rule = PURPOSES[purpose]
    if actual_size == 0:
        return "The file is empty."
    if actual_size > min(declared_size, rule.max_bytes):
        return (
            f"The file is {actual_size} bytes, more than the {min(declared_size, rule.max_bytes)}"
            " bytes announced for this upload."
        )
    found = sniff(head)
    if found is None:
        return f"The file is not a {declared_type}: its content is not a known file type."
    if found != declared_type:
        return f"The file was announced as {declared_type} but its content is {found}."
    return None


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    width: int
    height: int


class NotAnImage(ValueError):
    """The bytes do not decode as the image they claim to be (the message says why)."""


_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def thumbnail(data: bytes, content_type: str) -> Thumbnail:
    """Decode the image fully and make a JPEG thumbnail (EXIF orientation applied,
    transparency flattened on white). ``width``/``height`` are the original's. Pure (no
    I/O); raises :class:`NotAnImage` with the reason."""
    from io import BytesIO

    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format != _PIL_FORMATS.get(content_type):
                raise NotAnImage(f"The image is {probe.format}, not {content_type}.")
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise NotAnImage(
                    f"The image is {width}x{height} pixels; at most {MAX_PIXELS} pixels."
                )
            probe.verify()
        with Image.open(BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened) or opened
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, "white")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                image = flat
            else:
                image = image.convert("RGB")
            out = BytesIO()
            image.save(out, format="JPEG", quality=80, optimize=True)
    except NotAnImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise NotAnImage(f"The image could not be decoded ({exc}).") from exc
    return Thumbnail(jpeg=out.getvalue(), width=width, height=height)


def without_metadata(data: bytes, content_type: str) -> bytes:
    """The image re-encoded in its own format with no metadata (EXIF and its GPS position,
    XMP, comments, text chunks, ICC profile): what users other than the owner are served.
    EXIF orientation is applied first, so the copy looks the same. Pure; call after
    :func:`thumbnail` accepted the image (raises :class:`NotAnImage` otherwise)."""
    from io import BytesIO

    from PIL import Image, ImageOps

    fmt = _PIL_FORMATS.get(content_type)
    if fmt is None:
        raise NotAnImage(f"{content_type} is not an image type.")
    try:
        with Image.open(BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened) or opened
            pixels = Image.new(image.mode, image.size)  # a fresh image: no info carried over
            pixels.paste(image)
            if image.mode == "P":  # a decoded P image always has its palette
                pixels.putpalette(image.getpalette() or [])
            if fmt == "JPEG" and pixels.mode not in ("RGB", "L", "CMYK"):
                pixels = pixels.convert("RGB")
            out = BytesIO()
            pixels.save(out, format=fmt, quality=90)  # lossless PNG ignores the quality
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImage(f"The image could not be decoded ({exc}).") from exc
    return out.getvalue()
