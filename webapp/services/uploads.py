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
# Refuse decompression bombs long before they are decoded.
Image.MAX_IMAGE_PIXELS = 40_000_000


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
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()  # reads the whole file: truncated or corrupt images fail here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({field: [_("This file is not a PNG, JPEG or WebP image.")]}) from None
    if kind not in FORMATS:
        raise ValidationError({field: [_("This file is not a PNG, JPEG or WebP image.")]})
    name = f"{secrets.token_hex(16)}.{FORMATS[kind]}"
    (upload_dir() / name).write_bytes(data)
    return name


def delete_upload(name: str | None) -> None:
    """Remove a stored upload; a missing file is not an error."""
    if name and "/" not in name and "\\" not in name:
        (upload_dir() / name).unlink(missing_ok=True)
