"""Database models. Import from here: ``from webapp.models import User``."""

from webapp.models import (
    blog_search,  # noqa: F401  (the search index's DDL, for create_all)
    tag_counts,  # noqa: F401  (the triggers that keep tags.blog_count)
)
from webapp.models.audit import AuditEntry
from webapp.models.background import BackgroundTask, TaskStatus
from webapp.models.content import Blog, BlogStatus, Tag, blog_tags
from webapp.models.job import JobRun, MemorySample
from webapp.models.setting import AppSetting
from webapp.models.token import ApiToken
from webapp.models.user import ROLE_RANK, LoginSession, LoginThrottle, Role, User

__all__ = [
    "ROLE_RANK", "ApiToken", "AppSetting", "AuditEntry", "BackgroundTask", "Blog", "BlogStatus", "JobRun",
    "LoginSession", "LoginThrottle", "MemorySample", "Role", "Tag", "TaskStatus", "User", "blog_tags",
]
