"""WTForms classes, one module per area. Format rules live in the services."""

from webapp.forms.accounts import (
    AuditFilterForm,
    BulkUserForm,
    ConfirmForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    SetupForm,
    UserForm,
)
from webapp.forms.content import BlogForm, BulkBlogForm, MergeTagForm, TagForm

__all__ = [
    "AuditFilterForm", "BlogForm", "BulkBlogForm", "BulkUserForm", "ConfirmForm", "LanguageForm", "LoginForm",
    "MergeTagForm", "PasswordChangeForm", "SetupForm", "TagForm", "UserForm",
]
