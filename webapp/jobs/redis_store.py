"""The optional Redis job store (``SCHEDULER_REDIS_URL``), listing by keys.

Imported only when Redis is configured: APScheduler's Redis store needs the ``redis``
package. The keys come from the store's two Redis structures (a hash of pickled jobs
by id, a sorted set of next run times), so a list page unpickles only its own jobs.
"""

from __future__ import annotations

from apscheduler.job import Job
from apscheduler.jobstores.redis import RedisJobStore

from webapp.jobs.keys import JobFilter, JobKey, StoreKeys, job_from_state


class KeyedRedisJobStore(RedisJobStore):
    """APScheduler's Redis store with the methods of ``keys.KeyedJobStore``."""

    def job_keys(self, alias: str, wanted: JobFilter, limit: int, page_size: int = 0) -> StoreKeys:
        """See ``keys.KeyedJobStore``: every id and run time, filtered and sorted here."""
        ids = [key.decode() for key in self.redis.hkeys(self.jobs_key)]
        times = {key.decode(): score for key, score in
                 self.redis.zrange(self.run_times_key, 0, -1, withscores=True)}  # none: paused
        return wanted.first([JobKey(job_id, times.get(job_id), alias) for job_id in ids], limit)

    def jobs_by_ids(self, ids: list[str]) -> list[Job]:
        """See ``keys.KeyedJobStore``: read-only jobs (``keys.job_from_state``)."""
        if not ids:
            return []
        return [job_from_state(state) for state in self.redis.hmget(self.jobs_key, *ids) if state]
