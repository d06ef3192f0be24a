"""Database models. Import from here: ``from webapp.models import User``."""

from webapp.models.audit import AuditEntry
from webapp.models.user import ROLE_RANK, LoginFailure, Role, User

__all__ = ["ROLE_RANK", "AuditEntry", "LoginFailure", "Role", "User"]
