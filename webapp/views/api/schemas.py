"""Marshmallow schemas of the API: request bodies and parameters, responses, the error body.

Field rules that need the database (unique names, roles, existing authors) stay in the
services; these schemas check types and shapes, and refuse text no database accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates

from webapp.models import BlogStatus, Role
from webapp.services import blogs as blog_service
from webapp.services import tags as tag_service
from webapp.services import users as user_service
from webapp.services.limits import (
    DATE_PATTERN,
    MAX_DATE,
    MAX_DAY,
    MAX_ID,
    MAX_PAGE,
    MAX_VERSION,
    MIN_DATE,
    MIN_DAY,
    within_dates,
)


class ApiSchema(Schema):
    """Base schema: translated messages for unknown fields and wrong input types."""

    error_messages = {"unknown": _l("Unknown field."), "type": _l("Invalid input type.")}


def _translated(extra: dict[str, Any]) -> dict[str, Any]:
    return {"required": _l("This field is required."), "null": _l("This field may not be null."),
            "validator_failed": _l("Invalid value."), **extra}


#: Query text without NUL characters, as a pattern for the document (a query string,
#: decoded as UTF-8, cannot hold the other characters ``Text`` refuses: lone surrogates).
QUERY_TEXT = r"^[^\x00]*$"


class Text(fields.String):
    """A string without NUL characters or lone surrogates (which no database stores)."""

    default_error_messages = _translated({
        "invalid": _l("Not a valid string."), "invalid_utf8": _l("Not a valid string."),
        "bad_characters": _l("Contains characters that cannot be stored."),
    })

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
            raise self.make_error("bad_characters")
        return text


class Int(fields.Integer):
    """An integer; JSON bodies must send a number, query strings may send digits.

    Digits means ASCII digits: ``int()`` would also read fullwidth or Arabic-Indic digits.
    """

    default_error_messages = _translated({"invalid": _l("Not a valid integer."),
                                          "too_large": _l("Number too large.")})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Bool(fields.Boolean):
    default_error_messages = _translated({"invalid": _l("Not a valid boolean.")})


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time; one without an offset is taken as UTC."""

    default_error_messages = _translated({
        "invalid": _l("Not a valid date-time."), "invalid_awareness": _l("Not a valid date-time."),
        "format": _l("Not a valid date-time."), "range": _l("Use a date-time between the years 1 and 9999."),
    })

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        self._check_written(moment)
        try:  # an offset can push year 1 or 9999 outside what datetime holds in UTC
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("range") from None

    def _check_written(self, moment: datetime) -> None:
        """Refuse a date-time by how it reads as written (with its own offset); any is fine here."""


class BoundedDateTime(UtcDateTime):
    """A date-time that reads MIN_DATE..MAX_DATE as written (see services.limits), returned in UTC."""

    default_error_messages = {"bounds": _l("Use a date-time from {min} to {max}.")}

    def _check_written(self, moment: datetime) -> None:
        if not within_dates(moment):
            raise self.make_error("bounds", min=MIN_DATE.date().isoformat(), max=MAX_DATE.date().isoformat())


class Day(fields.Date):
    default_error_messages = _translated({"invalid": _l("Use a date like 2024-12-31."),
                                          "format": _l("Use a date like 2024-12-31.")})


def moment_field(description: str, **kwargs: Any) -> BoundedDateTime:
    """A date-time within MIN_DATE..MAX_DATE as written, documented with the pattern of its year."""
    return BoundedDateTime(metadata={
        "description": f"{description} ISO 8601, UTC when it has no offset; from "
                       f"{MIN_DATE.date().isoformat()} to {MAX_DATE.date().isoformat()} as written.",
        "pattern": DATE_PATTERN, "x-minimum": MIN_DATE.replace(tzinfo=None).isoformat(),
        "x-maximum": MAX_DATE.replace(tzinfo=None).isoformat()}, **kwargs)


def day_field(description: str) -> Day:
    """A day within MIN_DAY..MAX_DAY (``x-minimum`` / ``x-maximum`` and a pattern in the document)."""
    between = validate.Range(MIN_DAY, MAX_DAY, error=_l("Use a date from {min} to {max}."))
    return Day(validate=between, metadata={"description": description, "pattern": DATE_PATTERN})


class ListOf(fields.List):
    default_error_messages = _translated({"invalid": _l("Not a valid list.")})


def entity_id(strict: bool = True, **kwargs: Any) -> Int:
    """An id field: a positive 32-bit integer (``strict``: a JSON number, not text)."""
    return Int(strict=strict, validate=validate.Range(1, MAX_ID, error=_l("Not a valid id.")), **kwargs)


def version_field() -> Int:
    return Int(strict=True, validate=validate.Range(1, MAX_VERSION, error=_l("Not a valid version.")),
               metadata={"description": "The version you edited (as from GET); a newer one is a 409."})


def sort_field(columns: Any) -> Text:
    """``sort``: a column name, prefixed with ``-`` for descending order."""
    choices = [*columns, *(f"-{c}" for c in columns)]
    return Text(validate=validate.OneOf(choices, error=_l("Choose one of: {choices}.")))


# -- errors ----------------------------------------------------------------------------------


class ErrorDetailSchema(ApiSchema):
    status = fields.Integer(required=True, metadata={"description": "The HTTP status."})
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               data_key="fields",
                               metadata={"description": "Messages per field or parameter."})
    current_version = fields.Integer(metadata={"description": "On 409: the version stored now."})


class ErrorSchema(ApiSchema):
    """Every error response."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# -- lists -----------------------------------------------------------------------------------


class ListArgsSchema(ApiSchema):
    """Paging and search, the same as the list pages."""

    page = Int(load_default=1, validate=validate.Range(1, MAX_PAGE, error=_l("Use a page from 1 to {max}.")))
    per_page = Int(validate=validate.Range(1, 100, error=_l("Use 1 to {max} rows per page.")),
                   metadata={"description": "Rows per page (default: the first configured page size)."})
    q = Text(validate=validate.Length(max=200, error=_l("Use at most {max} characters.")),
             metadata={"description": "Search text.", "pattern": QUERY_TEXT})

    @validates("per_page")
    def _per_page_within_config(self, value: int, **_: Any) -> None:
        largest = max(current_app.config["PAGE_SIZES"])
        if value > largest:
            raise ValidationError(str(_l("Use 1 to {max} rows per page.")).format(max=largest))


class PageSchema(ApiSchema):
    total = fields.Integer(required=True, metadata={
        "description": "Rows matching, on all pages. When `total_capped` is true, a lower bound: "
                       "counting stopped there (the `COUNT_CAP` setting, 10,000 by default)."})
    total_capped = fields.Boolean(required=True, metadata={
        "description": "Whether `total` stopped at the count's cap: more rows match, and `pages` "
                       "counts only the pages of the counted rows. Later pages still answer, and "
                       "the `next` link is given as long as rows follow."})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


# -- users -----------------------------------------------------------------------------------

ROLES = [r.value for r in Role]
ROLE_ERROR = _l("Choose admin, editor or viewer.")


class UserSchema(ApiSchema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(required=True, allow_none=True)
    version = fields.Integer(required=True)


class UserPageSchema(PageSchema):
    items = fields.List(fields.Nested(UserSchema), required=True)


class UserListArgsSchema(ListArgsSchema):
    sort = sort_field(user_service.SORTABLE)
    role = Text(validate=validate.OneOf(ROLES, error=ROLE_ERROR))
    active = Bool()


#: Documented formats; the service checks them (and uniqueness) with the page's messages.
USERNAME_DOC = {"pattern": user_service.USERNAME_RE.pattern, "maxLength": 64}
EMAIL_DOC = {"format": "email", "maxLength": 254}
PASSWORD_DOC = {"minLength": 8, "maxLength": 1024,
                "description": "At least PASSWORD_MIN_LENGTH characters (8 by default)."}


class UserCreateSchema(ApiSchema):
    username = Text(required=True, metadata=USERNAME_DOC)
    email = Text(required=True, metadata=EMAIL_DOC)
    role = Text(load_default=Role.VIEWER.value, validate=validate.OneOf(ROLES, error=ROLE_ERROR))
    active = Bool(load_default=True)
    password = Text(required=True, load_only=True, metadata=PASSWORD_DOC)


class UserUpdateSchema(ApiSchema):
    """Only the fields sent change; ``password`` sets a new one."""

    username = Text(metadata=USERNAME_DOC)
    email = Text(metadata=EMAIL_DOC)
    role = Text(validate=validate.OneOf(ROLES, error=ROLE_ERROR))
    active = Bool()
    password = Text(load_only=True, metadata=PASSWORD_DOC)
    version = version_field()


class UserDeleteArgsSchema(ApiSchema):
    blogs = Text(validate=validate.OneOf(["reassign", "delete"], error=_l("Choose reassign or delete.")),
                 metadata={"description": "What happens to the user's blogs, if they wrote any."})
    reassign_to = entity_id(strict=False, metadata={"description": "The new author when blogs=reassign."})


# -- tags ------------------------------------------------------------------------------------


class TagRefSchema(ApiSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    colour = fields.String(required=True)
    slug = fields.String(required=True)


class TagSchema(ApiSchema):
    """A tag with the number of blogs using it (serialised from a ``TagRow``)."""

    id = fields.Integer(required=True, attribute="tag.id")
    name = fields.String(required=True, attribute="tag.name")
    slug = fields.String(required=True, attribute="tag.slug")
    description = fields.String(required=True, attribute="tag.description")
    colour = fields.String(required=True, attribute="tag.colour")
    created_at = fields.DateTime(required=True, attribute="tag.created_at")
    version = fields.Integer(required=True, attribute="tag.version")
    usage = fields.Integer(required=True, metadata={"description": "Blogs carrying the tag."})


class TagPageSchema(PageSchema):
    items = fields.List(fields.Nested(TagSchema), required=True)


class TagListArgsSchema(ListArgsSchema):
    sort = sort_field(tag_service.SORTABLE)


class TagCreateSchema(ApiSchema):
    name = Text(required=True)
    description = Text(load_default="")
    colour = Text(load_default="#6c757d", metadata={"description": "#rrggbb"})
    slug = Text(load_default="", metadata={"description": "Generated from the name when empty."})


class TagUpdateSchema(ApiSchema):
    name = Text()
    description = Text()
    colour = Text()
    slug = Text()
    version = version_field()


class TagMergeSchema(ApiSchema):
    target = entity_id(required=True, metadata={"description": "The tag that receives the blogs."})


class TagMergeResultSchema(ApiSchema):
    moved = fields.Integer(required=True, metadata={"description": "Blogs that carried the merged tag."})
    target = fields.Nested(TagSchema, required=True)


# -- blogs -----------------------------------------------------------------------------------

STATUSES = [s.value for s in BlogStatus]
STATUS_ERROR = _l("Choose draft or published.")
PUBLISH_AT_DOC = "When the blog is (or was) published."


class BlogSummarySchema(ApiSchema):
    """A blog as lists show it (no body)."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    slug = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    publish_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    author_id = fields.Integer(required=True)
    author_name = fields.String(required=True)
    version = fields.Integer(required=True)
    tags = fields.List(fields.Nested(TagRefSchema), required=True)


class BlogSchema(BlogSummarySchema):
    """A whole blog, with its Markdown body."""

    author_name = fields.String(required=True, attribute="author.username")
    body = fields.String(required=True, metadata={"description": "Markdown."})
    cover_image = fields.String(required=True, allow_none=True,
                                metadata={"description": "Stored cover file name (upload it on the page)."})


class BlogPageSchema(PageSchema):
    items = fields.List(fields.Nested(BlogSummarySchema), required=True)


class BlogListArgsSchema(ListArgsSchema):
    sort = sort_field(blog_service.SORTABLE)
    tag = ListOf(entity_id(strict=False),
                 metadata={"description": "Tag id; repeat for blogs carrying all of them."})
    author = entity_id(strict=False, metadata={"description": "Author's user id."})
    status = Text(validate=validate.OneOf(STATUSES, error=STATUS_ERROR))
    since = day_field("Created on or after this day (YYYY-MM-DD).")
    until = day_field("Created on or before this day (YYYY-MM-DD).")


class BlogCreateSchema(ApiSchema):
    title = Text(required=True)
    body = Text(load_default="", metadata={"description": "Markdown."})
    status = Text(load_default=BlogStatus.DRAFT.value, validate=validate.OneOf(STATUSES, error=STATUS_ERROR))
    publish_at = moment_field(PUBLISH_AT_DOC, load_default=None, allow_none=True)
    author_id = entity_id(load_default=None, allow_none=True,
                          metadata={"description": "Admins only; editors are the author."})
    tags = ListOf(Text(), load_default=list,
                  metadata={"description": "Tag names; names that do not exist yet are created."})
    slug = Text(load_default="", metadata={"description": "Generated from the title when empty."})


class BlogUpdateSchema(ApiSchema):
    title = Text()
    body = Text()
    status = Text(validate=validate.OneOf(STATUSES, error=STATUS_ERROR))
    publish_at = moment_field(PUBLISH_AT_DOC, allow_none=True)
    author_id = entity_id()
    tags = ListOf(Text(), metadata={"description": "The complete new list of tag names."})
    slug = Text()
    version = version_field()
