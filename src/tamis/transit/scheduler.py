"""The transit scheduler of a server: the overdue round (``tamis.transit.overdue``) every
``TAMIS_TRANSIT_CHECK_MINUTES`` minutes, in a thread of its own, so an overdue movement is
alerted within one round of its time limit with nobody running ``tamis transit check``."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from tamis.settings import settings
from tamis.transit.overdue import check_overdue

log = logging.getLogger(__name__)


class OverdueRounds:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        minutes = settings().transit_check_minutes
        if minutes <= 0:  # 0: rounds left to `tamis transit check` (cron, a job scheduler)
            return
        self._thread = threading.Thread(
            target=self._run, args=(minutes * 60,), name="transit-overdue", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                raised = check_overdue(self.engine)
            except Exception:  # a failed round (store down) must not end the rounds
                log.exception("transit overdue round failed")
                continue
            if raised:
                log.info("transit: %d overdue or enquiry alert(s) raised", len(raised))
