"""The form for personal API tokens on the profile page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class TokenForm(FlaskForm):
    """Name a new API token (the name only helps its owner tell tokens apart)."""

    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       render_kw={"placeholder": _l("e.g. nightly export script"), "maxlength": 100})
    submit = SubmitField(_l("Create token"))
