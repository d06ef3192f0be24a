"""Cover images: checked by content, stored under instance/uploads with generated names."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from webapp.services.errors import ValidationError

MAX_BYTES = 2 * 1024 * 1024
FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
#: The most pixels a cover may have. A few kilobytes of PNG can declare tens of
#: thousands of pixels a side (a decompression bomb), so the cap is checked on the
#: size the file declares, before anything is decoded, and again on the decoded image.
MAX_PIXELS = 40_000_000
# Pillow's own guard only warns above its limit and refuses at twice that: ours is exact.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def upload_dir() -> Path:
    """``instance/uploads``, created on first use."""
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_cover(stream: IO[bytes], field: str = "cover") -> str:
    """Check an upload is a PNG, JPEG or WebP of at most 2 MB; store it; return its new name."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError({field: [_("The image is larger than 2 MB.")]})
    if not data:
        raise ValidationError({field: [_("The file is empty.")]})
    kind = _checked_format(data, field)
    name = f"{secrets.token_hex(16)}.{FORMATS[kind]}"
    (upload_dir() / name).write_bytes(data)
    return name


def _checked_format(data: bytes, field: str) -> str:
    """The format of an intact PNG, JPEG or WebP image within MAX_PIXELS; ValidationError otherwise."""
    not_an_image = ValidationError({field: [_("This file is not a PNG, JPEG or WebP image.")]})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            _check_pixels(image.size, field)
            image.verify()  # reads the whole file: truncated or corrupt images fail here
        if kind not in FORMATS:
            raise not_an_image
        # verify() leaves nothing to decode: open again and decode, which is what
        # a browser will do, then check the size of what came out.
        with Image.open(io.BytesIO(data)) as image:
            _check_pixels(image.size, field)
            image.load()
            _check_pixels(image.size, field)
    except Image.DecompressionBombError:  # Pillow's guard, should its limit be lowered elsewhere
        raise _too_many_pixels(field) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise not_an_image from None
    return str(kind)


def _check_pixels(size: tuple[int, int], field: str) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(field, width, height)


def _too_many_pixels(field: str, width: int = 0, height: int = 0) -> ValidationError:
    limit = _("The image has too many pixels: at most %(max)d million (for example 8000 × 5000).",
              max=MAX_PIXELS // 1_000_000)
    if width and height:
        limit = _("The image has too many pixels (%(width)d × %(height)d): at most %(max)d million "
                  "(for example 8000 × 5000).", width=width, height=height, max=MAX_PIXELS // 1_000_000)
    return ValidationError({field: [limit]})


def delete_upload(name: str | None) -> None:
    """Remove a stored upload; a missing file is not an error."""
    if name and "/" not in name and "\\" not in name:
        (upload_dir() / name).unlink(missing_ok=True)
