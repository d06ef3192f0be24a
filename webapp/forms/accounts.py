"""Forms of the account screens: sign-in, setup, users, profile, audit filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from webapp.models import Role

ROLE_CHOICES = [
    SelectChoice(Role.ADMIN.value, _l("Administrator")),
    SelectChoice(Role.EDITOR.value, _l("Editor")),
    SelectChoice(Role.VIEWER.value, _l("Viewer")),
]


class LoginForm(FlaskForm):
    """Sign in with username or email."""

    login = StringField(_l("Username or email"), validators=[DataRequired(), Length(max=254)],
                        render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Remember me"))
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class LanguageForm(FlaskForm):
    """The language switcher of the navigation bar: the pressed button names the language."""

    locale = HiddenField()
    next = HiddenField()


class PasswordPairMixin:
    """A new password typed twice."""

    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )


class SetupForm(PasswordPairMixin, FlaskForm):
    """The first administrator."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Create administrator"))


class UserForm(FlaskForm):
    """Create or edit an account; on edit an empty password keeps the old one."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autofocus": True})
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.VIEWER.value)
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[EqualTo("password", message=_l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )
    version = HiddenField()
    submit = SubmitField(_l("Save"))


class PasswordChangeForm(PasswordPairMixin, FlaskForm):
    """A user's own password change."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password", "autofocus": True})
    submit = SubmitField(_l("Change password"))


class ConfirmForm(FlaskForm):
    """An empty form: only the CSRF token, for confirmation and action buttons."""


class BulkUserForm(FlaskForm):
    """An action applied to the selected rows of the user list."""

    # Starts on the placeholder: a real action is always chosen on purpose.
    action = SelectField(_l("With selected"), choices=[
        SelectChoice("", _l("Choose an action…")),
        SelectChoice("activate", _l("Activate")), SelectChoice("deactivate", _l("Deactivate")),
        SelectChoice("delete", _l("Delete")),
    ], validators=[InputRequired()])
    confirmed = HiddenField()


class AuditFilterForm(FlaskForm):
    """Filters of the audit page (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    actor = StringField(_l("User"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), choices=[
        SelectChoice("", _l("Any action")), SelectChoice("create", _l("Create")),
        SelectChoice("update", _l("Update")), SelectChoice("delete", _l("Delete")),
    ], validators=[Optional()])
    object_type = SelectField(_l("Object"), choices=[SelectChoice("", _l("Any object"))],
                              validators=[Optional()], validate_choice=False)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])


