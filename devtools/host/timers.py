"""Timer triggers: one thread per timer function."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from azure.functions.timer import TimerRequest  # the concrete class (func.TimerRequest is abstract)

from .ncrontab import parse_schedule

log = logging.getLogger("devtools.host")

LATE_AFTER = timedelta(seconds=1)  # fired this much after its time -> past_due


def timer_request(past_due: bool, last=None, next_=None) -> TimerRequest:
    """A TimerRequest shaped like the one the worker gets from the host."""
    now = datetime.now()
    status = {
        "Last": (last or datetime.min).isoformat(),
        "Next": (next_ or now).isoformat(),
        "LastUpdated": now.isoformat(),
    }
    return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})


class TimerRunner:
    """Runs ``invoke(function, TimerRequest)`` on the function's schedule until ``stop`` is set.

    Like the real host, the next occurrence is computed after an invocation finishes, so
    invocations of one timer never overlap; occurrences missed meanwhile are skipped.
    """

    def __init__(self, function, invoke, stop: threading.Event, now=datetime.now):
        self.function = function
        self.schedule = parse_schedule(function.trigger["schedule"])
        self.run_on_startup = bool(function.trigger.get("runOnStartup"))
        self.invoke = invoke
        self.stop = stop
        self.now = now
        self.last = None

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name=f"timer:{self.function.name}", daemon=True)
        t.start()
        return t

    def fire(self, past_due: bool, next_) -> None:
        request = timer_request(past_due, self.last, next_)
        try:
            self.invoke(self.function, request)
        except Exception:
            pass  # logged by the invoker; the schedule goes on
        self.last = self.now()

    def run(self) -> None:
        if self.run_on_startup and not self.stop.is_set():
            self.fire(False, self.schedule.next_after(self.now()))
        due = self.schedule.next_after(self.now())
        while not self.stop.is_set():
            wait = (due - self.now()).total_seconds()
            if wait > 0:
                self.stop.wait(min(wait, 60))  # re-check: the clock may jump
                continue
            late = self.now() - due > LATE_AFTER
            if late:
                log.warning("timer '%s' is past due (was due %s)", self.function.name, due)
            following = self.schedule.next_after(due)
            self.fire(late, following)
            due = self.schedule.next_after(max(self.now(), due))
