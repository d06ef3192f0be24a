"""The job form: task and parameters, trigger (date, interval, cron), options.

The task's parameters are not WTForms fields: each registered task declares its
own, so the page renders one input per parameter (named ``kw-<task>-<param>``)
and the registry types and checks them.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from webapp.forms.validators import WholeNumberRange
from webapp.jobs import limits, registry, triggers

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
TRIGGER_CHOICES = [SelectChoice("cron", _l("Cron")), SelectChoice("interval", _l("Interval")),
                   SelectChoice("date", _l("Once, at a date"))]


def _count(label: Any, maximum: int) -> IntegerField:
    return IntegerField(label, validators=[Optional(), WholeNumberRange(0, maximum)], render_kw={"min": 0})


def _cron(label: Any, placeholder: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=100)],
                       render_kw={"placeholder": placeholder, "spellcheck": "false"})


class JobForm(FlaskForm):
    """Add or edit a job."""

    id = StringField(_l("Job id"), validators=[Optional(), Length(max=191)],
                     description=_l("Letters, digits, dots, dashes, underscores or colons. Cannot "
                                    "be changed later."), render_kw={"spellcheck": "false"})
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)],
                       description=_l("Shown in the list; the id when empty."))
    task = SelectField(_l("Task"), validate_choice=False)

    trigger = RadioField(_l("Trigger"), choices=TRIGGER_CHOICES, default="cron")
    run_date = DateTimeLocalField(_l("Run at"), validators=[Optional()], format=DATETIME_FORMATS)
    weeks = _count(_l("Weeks"), limits.MAX_INTERVAL["weeks"])
    days = _count(_l("Days"), limits.MAX_INTERVAL["days"])
    hours = _count(_l("Hours"), limits.MAX_INTERVAL["hours"])
    minutes = _count(_l("Minutes"), limits.MAX_INTERVAL["minutes"])
    seconds = _count(_l("Seconds"), limits.MAX_INTERVAL["seconds"])
    crontab = StringField(_l("Crontab line"), validators=[Optional(), Length(max=200)],
                          description=_l("minute hour day month day-of-week, for example "
                                         "“0 3 * * mon-fri” (0 or 7 is Sunday). Leave empty to "
                                         "use the fields below."),
                          render_kw={"placeholder": "0 3 * * mon-fri", "spellcheck": "false"})
    year = _cron(_l("Year"), "*")
    month = _cron(_l("Month"), "*")
    day = _cron(_l("Day"), "last fri, 3rd fri, 1-15")
    week = _cron(_l("ISO week"), "*")
    day_of_week = _cron(_l("Day of week"), "mon-fri")
    hour = _cron(_l("Hour"), "3")
    minute = _cron(_l("Minute"), "0")
    second = _cron(_l("Second"), "0")
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    start_date = DateTimeLocalField(_l("Start"), validators=[Optional()], format=DATETIME_FORMATS)
    end_date = DateTimeLocalField(_l("End"), validators=[Optional()], format=DATETIME_FORMATS)
    jitter = IntegerField(_l("Jitter (seconds)"),
                          validators=[Optional(), WholeNumberRange(0, limits.MAX_JITTER)],
                          description=_l("Start each run up to this many seconds late, at random."))

    executor = SelectField(_l("Executor"), validate_choice=False)
    jobstore = SelectField(_l("Job store"), validate_choice=False)
    max_instances = IntegerField(_l("Max instances"), default=limits.JOB_DEFAULTS["max_instances"],
                                 validators=[Optional(),
                                             WholeNumberRange(*limits.OPTION_LIMITS["max_instances"])],
                                 description=_l("Runs of this job allowed at the same time."))
    misfire_grace_time = IntegerField(_l("Misfire grace time (seconds)"),
                                      default=limits.JOB_DEFAULTS["misfire_grace_time"],
                                      validators=[Optional(),
                                                  WholeNumberRange(*limits.OPTION_LIMITS["misfire_grace_time"])],
                                      description=_l("A run this much later than planned is recorded "
                                                     "as missed instead."))
    coalesce = BooleanField(_l("Coalesce missed runs into one"), default=limits.JOB_DEFAULTS["coalesce"])
    paused = BooleanField(_l("Add paused"))

    def setup(self, executors: list[str], stores: list[str], default_zone: str) -> JobForm:
        """Fill the choices from the registry and the scheduler's configuration."""
        self.param_errors: dict[str, list[str]] = {}
        self.task.choices = [SelectChoice(t.name, str(t.title)) for t in registry.all_tasks()]
        self.executor.choices = [SelectChoice(name, name) for name in executors]
        self.jobstore.choices = [SelectChoice(name, name) for name in stores]
        self.timezone.choices = [SelectChoice(name, name) for name in triggers.zone_choices()]
        if not self.is_submitted():
            self.timezone.data = self.timezone.data or default_zone
        return self

    def data_for_service(self) -> dict[str, Any]:
        """What the job service takes, parameters of the chosen task included."""
        task = self.task.data or ""
        prefix = f"kw-{task}-"
        kwargs = {key[len(prefix):]: value for key, value in request.form.items() if key.startswith(prefix)}
        names = (*triggers.INTERVAL_FIELDS, *triggers.CRON_FIELDS, "crontab", "run_date",
                 "start_date", "end_date", "jitter", "timezone")
        return {
            "id": (self.id.data or "").strip(), "name": self.name.data, "task": task, "kwargs": kwargs,
            "trigger": self.trigger.data,
            "trigger_args": {n: getattr(self, n).data for n in names
                             if getattr(self, n).data not in (None, "")},
            "executor": self.executor.data, "jobstore": self.jobstore.data,
            "max_instances": self.max_instances.data, "misfire_grace_time": self.misfire_grace_time.data,
            "coalesce": self.coalesce.data, "paused": self.paused.data,
        }

    def fill(self, data: dict[str, Any]) -> None:
        """Initial values from a job (see ``services.jobs.job_data``)."""
        for key in ("id", "name", "task", "trigger", "executor", "jobstore", "max_instances",
                    "misfire_grace_time", "coalesce"):
            getattr(self, key).data = data[key]
        for key, value in data["trigger_args"].items():
            if hasattr(self, key):
                getattr(self, key).data = value

