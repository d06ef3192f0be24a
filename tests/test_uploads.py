"""Cover images: checked by content and size, stored under generated names, served to signed-in users."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Blog


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def post_blog(client, cover: bytes, filename: str, url: str = "/blogs/new", **extra):
    data = {"title": "With cover", "body": "", "status": "draft", "tags": "", "slug": "", **extra,
            "cover": (io.BytesIO(cover), filename)}
    return client.post(url, data=data, content_type="multipart/form-data")


def stored_cover(app) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Blog.cover_image))


def uploads(app) -> list[str]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("kind,ext", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_png_jpeg_and_webp_are_stored_under_a_generated_name(app, as_admin, kind, ext):
    response = post_blog(as_admin, image_bytes(kind), "../../etc/passwd.gif")
    assert response.status_code == 302
    name = stored_cover(app)
    assert re.fullmatch(rf"[0-9a-f]{{32}}\.{ext}", name)
    assert uploads(app) == [name]
    served = as_admin.get(f"/blogs/covers/{name}")
    assert served.status_code == 200 and served.data == image_bytes(kind)
    assert "private" in served.headers["Cache-Control"]


@pytest.mark.parametrize("payload,filename", [
    (b"just some text, not an image\n" * 10, "notes.png"),
    (b"GIF89a" + b"\x00" * 100, "anim.png"),
    (image_bytes("GIF"), "real.gif"),
    (image_bytes("PNG")[:40], "truncated.png"),
    (b"", "empty.png"),
])
def test_files_that_are_not_png_jpeg_or_webp_are_refused(app, as_admin, payload, filename):
    response = post_blog(as_admin, payload, filename)
    assert response.status_code == 200
    assert "not a PNG, JPEG or WebP image" in response.text or "The file is empty." in response.text
    assert stored_cover(app) is None and uploads(app) == []


def test_images_over_two_megabytes_are_refused(app, as_admin):
    big = image_bytes("PNG") + b"\x00" * (2 * 1024 * 1024)
    response = post_blog(as_admin, big, "big.png")
    assert "larger than 2 MB" in response.text
    assert uploads(app) == []


def test_replacing_or_removing_a_cover_deletes_the_old_file(app, as_admin):
    post_blog(as_admin, image_bytes("PNG"), "a.png")
    with app.app_context():
        blog_id = db.session.scalar(select(Blog.id))
    first = stored_cover(app)
    post_blog(as_admin, image_bytes("JPEG"), "b.jpg", url=f"/blogs/{blog_id}/edit", version="1")
    second = stored_cover(app)
    assert second != first and uploads(app) == [second]
    as_admin.post(f"/blogs/{blog_id}/edit", data={"title": "With cover", "body": "", "status": "draft",
                                                  "tags": "", "slug": "", "version": "2",
                                                  "remove_cover": "y"})
    assert stored_cover(app) is None and uploads(app) == []


def test_covers_are_only_served_to_signed_in_users(app, as_admin, client):
    post_blog(as_admin, image_bytes("PNG"), "a.png")
    name = stored_cover(app)
    anonymous = app.test_client()
    assert anonymous.get(f"/blogs/covers/{name}").status_code == 302
    assert as_admin.get("/blogs/covers/..%2Fsecret_key").status_code == 404
    assert as_admin.get("/blogs/covers/secret_key").status_code == 404


def bomb_png(size: tuple[int, int]) -> bytes:
    """A black 1-bit PNG: a few kilobytes on disk, ``size`` pixels once decoded."""
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(8000, 6000), (10_000, 10_000)])
def test_images_with_too_many_pixels_are_refused_however_small_the_file(app, as_admin, size):
    """48 and 100 megapixels in a file of a few kilobytes: over the 40 megapixel cap."""
    payload = bomb_png(size)
    assert len(payload) < 100_000
    response = post_blog(as_admin, payload, "bomb.png")
    assert response.status_code == 200
    assert "The image has too many pixels" in response.text
    assert "at most 40 million" in response.text
    assert stored_cover(app) is None and uploads(app) == []


def test_an_image_just_under_the_pixel_cap_is_stored(app, as_admin):
    response = post_blog(as_admin, bomb_png((8000, 5000)), "big.png")
    assert response.status_code == 302
    assert stored_cover(app) is not None
