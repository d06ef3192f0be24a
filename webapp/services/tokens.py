"""Personal API tokens: created and revoked by their owner, stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.models.types import utcnow
from webapp.services import audit
from webapp.services.access import require_role
from webapp.services.errors import NotFound, ValidationError

#: Every token starts with this, so leaked tokens are easy to recognise (secret scanners).
TOKEN_PREFIX = "wa_"
#: Characters of the plaintext kept in clear, to tell a user's tokens apart.
SHOWN_PREFIX_LENGTH = 11
#: ``last_used_at`` is written at most this often per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_TOKENS_PER_USER = 50


def hash_token(plaintext: str) -> str:
    """The stored form of a token: its SHA-256 as hex."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def list_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ))


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it and the plaintext, which is never stored."""
    require_role(user, "viewer")
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationError({"name": [_("A token name has 1 to 100 characters.")]})
    if len(list_tokens(user)) >= MAX_TOKENS_PER_USER:
        raise ValidationError({"name": [_("You have too many tokens; revoke one first.")]})
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext),
                     prefix=plaintext[:SHOWN_PREFIX_LENGTH])
    db.session.add(token)
    audit.record(user, "create", token, {"name": [None, name], "prefix": [None, token.prefix]})
    db.session.commit()
    return token, plaintext


def own_token(token_id: int, user: User) -> ApiToken:
    """One of the user's own tokens; other users' tokens are NotFound."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound(_("No API token with id %(id)s.", id=token_id))
    return token


def revoke_token(token_id: int, user: User) -> None:
    """Delete one of the user's own tokens; other users' tokens are NotFound."""
    token = own_token(token_id, user)
    audit.record(user, "delete", token, {"name": [token.name, None], "prefix": [token.prefix, None]})
    db.session.delete(token)
    db.session.commit()


def authenticate_token(plaintext: str) -> User | None:
    """The active user owning this token, or None; notes when the token was last used."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A plain UPDATE: no ORM flush of the user, so no version bump and no audit noise.
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id,
                   or_(ApiToken.last_used_at.is_(None),
                       ApiToken.last_used_at <= now - LAST_USED_RESOLUTION))
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return token.user
