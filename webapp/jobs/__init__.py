"""Scheduled work: the registry of tasks jobs may run, and the tasks themselves."""
