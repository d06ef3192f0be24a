"""The only functions a job may run.

Every task is registered here with a title, a description and typed parameters,
so forms can render inputs and validate them, and every path that creates a job
(pages, the JSON API, Flask-APScheduler's REST API) can refuse anything else:
an arbitrary ``module:callable`` from a request would be remote code execution.

Jobs store one entry point, :func:`run_task`, with the task's name as the first
argument; it runs the task inside an application context, in whichever thread or
process the executor chose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, has_app_context
from flask_babel import gettext as _

from webapp.jobs.limits import MAX_PARAM_NUMBER
from webapp.services.errors import ValidationError

#: What the job stores hold as ``func`` for every job.
RUNNER_REF = "webapp.jobs.registry:run_task"
#: What a refused run calls instead (see :func:`refusal`).
REFUSED_REF = "webapp.jobs.registry:refuse_run"

PARAM_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


@dataclass(frozen=True)
class Param:
    """A task parameter: a name, a type (str, int, float, bool), a default and a label."""

    name: str
    type: str
    default: Any
    label: Any
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Task:
    """A registered task."""

    name: str
    title: Any
    description: Any
    func: Callable[..., Any]
    params: tuple[Param, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> str:
        """``module:function`` of the task itself (accepted as an alias of its name)."""
        return f"{self.func.__module__}:{self.func.__name__}"


REGISTRY: dict[str, Task] = {}


def task(name: str, title: Any, description: Any,
         params: tuple[Param, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a task called ``name``."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = Task(name=name, title=title, description=description, func=func,
                              params=tuple(params))
        return func

    return decorator


def get_task(name_or_ref: str) -> Task:
    """The registered task called ``name_or_ref`` (or whose ``module:function`` it is).

    Raises ValidationError for anything else, whatever it names.
    """
    _load_tasks()
    found = REGISTRY.get(name_or_ref) or next(
        (t for t in REGISTRY.values() if t.ref == name_or_ref), None)
    if found is None:
        known = ", ".join(sorted(REGISTRY))
        raise ValidationError({"func": [_("“%(name)s” is not a registered task. Registered tasks: "
                                          "%(known)s.", name=str(name_or_ref)[:100], known=known)]})
    return found


def all_tasks() -> list[Task]:
    """Every registered task, by name."""
    _load_tasks()
    return [REGISTRY[name] for name in sorted(REGISTRY)]


def bind_args(registered: Task, args: Any, kwargs: Any) -> dict[str, Any]:
    """Positional ``args`` given to the task's parameters in order, merged with ``kwargs``
    (as Flask-APScheduler's payloads send them: ``"args": ["dear"]``). Not typed yet: see
    :func:`validate_kwargs`.

    Raises ValidationError on ``args`` for more values than parameters, or for a
    parameter given both by position and by name.
    """
    if args is None:
        args = ()
    if isinstance(args, str | bytes | Mapping) or not isinstance(args, list | tuple):
        raise ValidationError({"args": [_("Give the parameters in order as a list.")]})
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ValidationError({"kwargs": [_("Give the parameters as an object of names and values.")]})
    names = [p.name for p in registered.params]
    if len(args) > len(names):
        raise ValidationError({"args": [_(
            "“%(task)s” takes %(count)d parameters (%(names)s); %(given)d were given.",
            task=registered.name, count=len(names), names=", ".join(names) or "—", given=len(args))]})
    bound = dict(kwargs or {})
    twice = [name for name in names[:len(args)] if name in bound]
    if twice:
        raise ValidationError({"args": [_("“%(name)s” is given both in args and in kwargs.",
                                          name=twice[0])]})
    bound.update(zip(names, args, strict=False))
    return bound


def validate_kwargs(registered: Task, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters typed, bounded and completed with defaults; unknown ones are refused."""
    raw = dict(raw or {})
    errors: dict[str, list[str]] = {}
    known = {p.name for p in registered.params}
    for name in sorted(set(raw) - known):
        errors[name] = [_("“%(task)s” takes no parameter “%(name)s”.", task=registered.name, name=name)]
    clean: dict[str, Any] = {}
    for param in registered.params:
        value = raw.get(param.name, param.default)
        try:
            clean[param.name] = _coerce(param, value)
        except (TypeError, ValueError) as err:
            errors[param.name] = [str(err)]
    if errors:
        raise ValidationError(errors)
    return clean


def _coerce(param: Param, value: Any) -> Any:
    kind = PARAM_TYPES[param.type]
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"1", "true", "yes", "on"}:
            return True
        if str(value).lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(_("Enter yes or no."))
    if kind is str:
        text = str(value)
        if len(text) > 500 or "\x00" in text:
            raise ValueError(_("Use at most 500 characters, without NUL."))
        return text
    if isinstance(value, bool):
        raise ValueError(_("Enter a number."))
    number = _as_number(value, whole=kind is int)
    if param.minimum is not None and number < param.minimum:
        raise ValueError(_("Use %(n)s or more.", n=param.minimum))
    if param.maximum is not None and number > param.maximum:
        raise ValueError(_("Use %(n)s or less.", n=param.maximum))
    if not -MAX_PARAM_NUMBER <= number <= MAX_PARAM_NUMBER:  # 1e309 is infinity
        raise ValueError(_("Use a number from %(low)s to %(high)s.", low=-MAX_PARAM_NUMBER,
                           high=MAX_PARAM_NUMBER))
    if kind is int:
        if number != int(number):
            raise ValueError(_("Enter a whole number."))
        return int(number)
    return float(number)


def _as_number(value: Any, whole: bool) -> int | float:
    """``value`` (a number or its text) as a number; ValueError for anything else or NaN."""
    if isinstance(value, int):
        return value
    try:
        text = value.strip() if isinstance(value, str) else None
        if whole and text is not None and text.lstrip("+-").isdigit():
            return int(text)  # exact, however long
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(_("Enter a number.")) from None
    if number != number:  # NaN
        raise ValueError(_("Enter a number."))
    return number


# -- running ---------------------------------------------------------------------

def refusal(job: Any) -> str | None:
    """Why a stored job may not run, or None: it must call :func:`run_task` with a task name.

    The executors ask this for every run, whatever the job store holds (a row written
    into the store directly is not checked by anything else); ``run_task`` then
    checks the task and its parameters again.
    """
    if job.func_ref != RUNNER_REF:
        return _("Refused: the job calls “%(func)s”, which is not a registered task.",
                 func=str(job.func_ref)[:200])
    if len(job.args) != 1 or not isinstance(job.args[0], str):
        return _("Refused: the job passes %(count)d positional values to the task runner; "
                 "it takes one task name.", count=len(job.args))
    return None


class RefusedRun(Exception):
    """A stored job that may not run (a plain exception: it travels back from a process pool)."""


def refuse_run(reason: str) -> None:
    """What a refused job runs instead: fail with ``reason`` (recorded as a failed run)."""
    raise RefusedRun(reason)


_process_app: Flask | None = None


def run_task(task_name: str, /, **kwargs: Any) -> Any:
    """The entry point every job calls: check the task again, then run it in an app context.

    In a process-pool worker there is no app yet: one is created per process, from
    the same configuration sources as the server.
    """
    registered = get_task(task_name)
    clean = validate_kwargs(registered, kwargs)
    if has_app_context():  # the thread pool runs jobs in their app's context
        return registered.func(**clean)
    with _app_for_this_process().app_context():  # a process-pool worker
        return registered.func(**clean)


def _app_for_this_process() -> Flask:
    """The app of a process-pool worker, built from the environment and instance config
    (config passed to ``create_app`` in the server does not reach it). It never starts
    a scheduler of its own."""
    global _process_app
    if _process_app is None:
        from webapp import create_app

        _process_app = create_app({"SCHEDULER_AUTOSTART": False})
    return _process_app


def _load_tasks() -> None:
    """Import the task module so its decorators have registered everything."""
    from webapp.jobs import tasks  # noqa: F401

