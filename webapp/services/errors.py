"""Domain errors raised by services; each front end turns them into its own answer."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: carries a user-facing message."""

    status = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist."""

    status = 404


class Forbidden(DomainError):
    """The actor's role or a guard forbids the action."""

    status = 403


class Conflict(DomainError):
    """The object changed since the caller read it (optimistic concurrency)."""

    status = 409

    def __init__(self, message: str, current: Any = None) -> None:
        super().__init__(message)
        self.current = current


class ValidationError(DomainError):
    """Input is invalid; ``fields`` maps field names to messages."""

    status = 422

    def __init__(self, fields: dict[str, list[str]], message: str = "") -> None:
        super().__init__(message or "; ".join(m for msgs in fields.values() for m in msgs))
        self.fields = fields

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the fields (a process-pool job sends its error back to the scheduler)."""
        return (type(self), ({k: [str(m) for m in v] for k, v in self.fields.items()}, str(self.message)))


class Throttled(DomainError):
    """Too many attempts; ``retry_after`` is in seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self.message), self.retry_after))
