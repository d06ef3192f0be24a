"""A user's own settings that are not account data: the language of the console."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import update

from webapp.extensions import db
from webapp.models import User
from webapp.services.errors import ValidationError


def check_language(code: str | None, offered: Sequence[str]) -> str:
    """``code`` when it is one of the ``offered`` languages; a ValidationError otherwise."""
    if code not in offered:
        raise ValidationError({"locale": [_("Choose one of the offered languages.")]})
    return str(code)


def save_language(user: User, code: str | None, offered: Sequence[str]) -> str:
    """Keep ``code`` as ``user``'s language (commits).

    A plain UPDATE: choosing a language is not an edit of the account, so it neither
    bumps the version (an admin's open edit form stays valid) nor goes to the audit log.
    """
    code = check_language(code, offered)
    db.session.execute(update(User).where(User.id == user.id).values(locale=code)
                       .execution_options(synchronize_session=False))
    db.session.commit()  # expires ``user``: its next read loads the new language
    return code
