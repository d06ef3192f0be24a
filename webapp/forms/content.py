"""Forms of the editorial screens: blogs and tags."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.forms.validators import WithinDates, id_range
from webapp.services.filters import ascii_int

STATUS_CHOICES = [SelectChoice("draft", _l("Draft")), SelectChoice("published", _l("Published"))]


class BlogForm(FlaskForm):
    """Create or edit a blog. ``tags`` is a comma-separated list of names (the picker fills it)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)],
                        render_kw={"autofocus": True})
    slug = StringField(_l("Slug"), validators=[Optional(), Length(max=220)],
                       description=_l("Leave empty to make one from the title."))
    body = TextAreaField(_l("Text (Markdown)"), validators=[Length(max=200_000)],
                         render_kw={"rows": 16, "data-preview-source": ""})
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, default="draft")
    publish_at = DateTimeLocalField(_l("Publish at"), validators=[Optional(), WithinDates()],
                                    format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                    description=_l("Shown as the publication time. A draft is published at "
                                                   "this time while the task “Publish due blogs” is "
                                                   "scheduled (Jobs)."))
    author_id = SelectField(_l("Author"), coerce=ascii_int, validators=[Optional(), id_range()],
                            validate_choice=False)
    tags = StringField(_l("Tags"), validators=[Length(max=2000)],
                       description=_l("Separate with commas; new names create tags."),
                       render_kw={"data-tag-picker": "", "autocomplete": "off"})
    cover = FileField(_l("Cover image"), description=_l("PNG, JPEG or WebP, at most 2 MB."),
                      render_kw={"accept": "image/png,image/jpeg,image/webp"})
    remove_cover = BooleanField(_l("Remove the cover image"))
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class BulkBlogForm(FlaskForm):
    """An action applied to the selected rows of the blog list."""

    # Starts on the placeholder: a real action is always chosen on purpose.
    action = SelectField(_l("With selected"), choices=[
        SelectChoice("", _l("Choose an action…")),
        SelectChoice("publish", _l("Publish")), SelectChoice("unpublish", _l("Unpublish")),
        SelectChoice("add_tag", _l("Add tag")), SelectChoice("remove_tag", _l("Remove tag")),
        SelectChoice("delete", _l("Delete")),
    ], validators=[InputRequired()])
    tag_id = SelectField(_l("Tag"), coerce=ascii_int, validators=[Optional(), id_range()],
                         validate_choice=False)
    confirmed = HiddenField()


class TagForm(FlaskForm):
    """Create or edit a tag."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)],
                       render_kw={"autofocus": True})
    slug = StringField(_l("Slug"), validators=[Optional(), Length(max=60)],
                       description=_l("Leave empty to make one from the name."))
    colour = StringField(_l("Colour"), default="#6c757d", validators=[DataRequired(), Length(max=7)],
                         render_kw={"type": "color"})
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)], render_kw={"rows": 3})
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class MergeTagForm(FlaskForm):
    """Merge one tag into another."""

    target = SelectField(_l("Merge into"), coerce=ascii_int,
                         validators=[InputRequired(), id_range()], validate_choice=False)
    submit = SubmitField(_l("Merge"))
