"""Waiting, as hub-image waits: a clock that tests can replace, and the pacer that keeps
content-creating requests within GitHub's secondary limits (80 a minute, 500 an hour)."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from .errors import SetupError

#: GitHub's secondary limits on content-creating requests: (count, seconds).
GITHUB_WINDOWS = [(80, 60.0), (500, 3600.0)]


class Clock:
    """Monotonic time, and a wait that a stop event ends early."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait ``seconds`` (or until ``stop`` is set); True when stopped."""
        if stop is None:
            time.sleep(max(seconds, 0))
            return False
        return stop.wait(max(seconds, 0))


class Pacer:
    """Admits content-creating requests within every (count, seconds) window: as many
    as a window allows at once, then each as soon as the oldest leaves the window.

    A request counts from when it is sent until ``seconds`` after its answer arrived
    (GitHub counts it somewhere in between), so delays cannot push two over the limit.
    """

    def __init__(self, windows: list[tuple[int, float]] | None = None, clock: Clock | None = None):
        self.windows = windows or GITHUB_WINDOWS
        self.clock = clock or Clock()
        self.slots: list[list[float]] = []  # [end time]; inf while the request is in flight
        self.lock = threading.Lock()
        self.waited = 0.0
        self.stop = threading.Event()  # set on Ctrl-C: no write starts any more
        self.on_wait: Callable[[float], None] | None = None  # told of waits of 5 s and more
        self._announced = -math.inf

    @contextmanager
    def write(self):
        slot = self._acquire()
        try:
            yield
        finally:
            with self.lock:
                slot[0] = self.clock.now()

    def _wait_needed(self, now: float) -> float:
        longest = max(seconds for _, seconds in self.windows)
        self.slots = [s for s in self.slots if s[0] > now - longest]
        wait = 0.0
        for count, seconds in self.windows:
            live = sorted(s[0] for s in self.slots if s[0] > now - seconds)
            if len(live) >= count:
                oldest = live[len(live) - count]
                wait = max(wait, (oldest + seconds - now) if oldest != math.inf else 0.01)
        return wait

    def _acquire(self) -> list[float]:
        while True:
            with self.lock:
                now = self.clock.now()
                wait = self._wait_needed(now)
                if wait <= 0:
                    slot = [math.inf]
                    self.slots.append(slot)
                    return slot
            self.waited += wait
            if self.on_wait and wait >= 5 and now - self._announced >= 30:
                self._announced = now
                self.on_wait(wait)  # a long wait for GitHub's write limits, e.g. the hourly one
            if self.clock.wait(min(wait, 1.0) + 0.001, self.stop):
                raise KeyboardInterrupt

    def writes_per_hour(self) -> int:
        longest = max(seconds for _, seconds in self.windows)
        return min(count for count, seconds in self.windows if seconds == longest)

    def check_the_hour(self, writes: int, may_wait: bool, notify: Callable[[str], None]) -> None:
        """A run of more ``writes`` than the hourly limit takes hours: refused unless it
        may wait (--wait), and then said."""
        per_hour = self.writes_per_hour()
        if writes <= per_hour:
            return
        hours = writes / per_hour
        if not may_wait:
            raise SetupError(
                f"this run needs {writes} writes, more than GitHub's {per_hour} an hour: it would take "
                f"about {hours:.1f} h; run it with --wait (a countdown shows each wait), or split the manifest"
            )
        notify(f"note: {writes} writes at {per_hour} an hour: this run takes about {hours:.1f} h")

    def first_round(self, writes: list[int], repeated: int) -> int:
        """How many of some items, making ``writes[i]`` writes each in order, go in a first
        round of their own, which ends with ``repeated`` writes that the last round makes
        again: those that fit in the first minute beside them, when the repeat costs no
        window of any limit; else all of them (one round)."""
        total = sum(writes) + repeated
        if any(math.ceil((total + repeated) / count) > math.ceil(total / count) for count, _ in self.windows):
            return len(writes)
        room = min(count for count, _ in self.windows) - repeated
        return sum(1 for made in itertools.accumulate(writes) if made <= room) or len(writes)
