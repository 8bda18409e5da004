"""The scheduling store as the calling service sees it: scheduler/store.py's Schedule (kept
importable here as ivr.schedule.Schedule)."""
from scheduler.store import Schedule

__all__ = ["Schedule"]
