"""Group commit: many webhook deliveries share one transaction, and each sender hears back
only after the transaction holding its events is durably committed.

A single writer thread takes the first waiting delivery, gathers whatever else arrives within
``max_wait`` (up to ``max_items`` records), runs the batch pipeline once for all of them, commits,
and only then resolves every delivery's future. A batch that loses a race with another process
(see ``recoup.services.races``) is run again in a new transaction. If the batch still fails, the
failure is logged, every delivery in it gets the error and its sender retries; redelivery is
idempotent, so nothing is lost and nothing doubled.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field

from recoup.domain.detection.detectors import Detectors
from recoup.domain.ingestion.canonical import Rejection
from recoup.domain.ingestion.event import Event
from recoup.domain.policy import PolicyEngine
from recoup.domain.ports import Clock, UnitOfWorkFactory
from recoup.services.ingest import batch_audit, run_counts, store_events
from recoup.services.races import retry_lost_races

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request's records: events its mapper built and records it refused."""

    source: str
    format_name: str
    events: list[Event]
    rejections: list[Rejection]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    accepted: int
    new: int
    duplicates: int
    quarantined: int


@dataclass
class _Pending:
    delivery: Delivery
    future: Future[DeliveryResult] = field(default_factory=Future)


@dataclass
class CommitStats:
    batches: int = 0
    deliveries: int = 0
    events: int = 0
    failures: int = 0
    retries: int = 0


class GroupCommitter:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        detectors: Detectors,
        label: str = "webhooks",
        max_items: int = 2000,
        max_wait: float = 0.005,
        commit_delay: float = 0.0,
        policy: PolicyEngine | None = None,
    ) -> None:
        self._policy = policy
        self._uow = uow
        self._clock = clock
        self._detectors = detectors
        self._label = label
        self._max_items = max_items
        self._max_wait = max_wait
        self._commit_delay = commit_delay  # a pause before each commit, for crash tests only
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.run_id = str(uuid.uuid4())
        self.stats = CommitStats()

    def start(self) -> None:
        with self._uow() as tx:
            tx.start_run(self.run_id, self._label, "webhooks", self._clock.now())
            tx.commit()
        self._thread = threading.Thread(target=self._loop, name="recoup-group-commit",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None
        with self._uow() as tx:
            tx.finish_run(self.run_id, self._clock.now(), "completed")
            tx.commit()

    def submit(self, delivery: Delivery) -> Future[DeliveryResult]:
        if self._thread is None:
            raise RuntimeError("the group committer is not running")
        pending = _Pending(delivery)
        self._queue.put(pending)
        return pending.future

    # -- the writer thread ------------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            size = _size(first.delivery)
            deadline = time.monotonic() + self._max_wait
            while size < self._max_items:
                remaining = deadline - time.monotonic()
                try:
                    nxt = (
                        self._queue.get(timeout=max(remaining, 0))
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
                size += _size(nxt.delivery)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        def counted(_: BaseException) -> None:
            self.stats.retries += 1

        try:
            results = retry_lost_races(lambda: self._apply(batch), on_retry=counted,
                                       what=f"a batch of {len(batch)} deliveries")  # fmt: skip
        except BaseException as exc:  # every sender must hear about it, then we carry on
            log.error("a batch of %d deliveries was not stored; their senders will retry",
                      len(batch), exc_info=exc)  # fmt: skip
            self.stats.failures += 1
            for pending in batch:
                pending.future.set_exception(exc)
            return
        self.stats.batches += 1
        self.stats.deliveries += len(batch)
        for pending, result in zip(batch, results, strict=True):
            self.stats.events += result.accepted
            pending.future.set_result(result)

    def _apply(self, batch: list[_Pending]) -> list[DeliveryResult]:
        events = [e for p in batch for e in p.delivery.events]
        by_format: dict[str, list[Rejection]] = defaultdict(list)
        for pending in batch:
            by_format[pending.delivery.format_name].extend(pending.delivery.rejections)
        with self._uow() as tx:
            stored = store_events(events, store=tx, clock=self._clock,
                                  detectors=self._detectors, run_id=self.run_id,
                                  policy=self._policy)  # fmt: skip
            now = self._clock.now()
            for format_name, rejections in by_format.items():
                tx.quarantine(rejections, self.run_id, format_name, now)
            quarantined = sum(len(r) for r in by_format.values())
            counts = run_counts(len(events) + quarantined, len(events), stored, quarantined)
            tx.add_run_counts(self.run_id, counts)
            sources = dict(Counter(p.delivery.source for p in batch))
            entry = batch_audit(self.run_id, self._label, counts, now, deliveries=len(batch),
                                **stored.timers(),
                                sources=sources)  # fmt: skip
            tx.append_audit([*stored.audit, entry])
            if self._commit_delay:
                time.sleep(self._commit_delay)
            tx.commit()
        return [_result(p.delivery, stored.inserted) for p in batch]


def _size(delivery: Delivery) -> int:
    return max(1, len(delivery.events) + len(delivery.rejections))


def _result(delivery: Delivery, inserted: set[str]) -> DeliveryResult:
    new = sum(1 for e in delivery.events if e.event_id in inserted)
    return DeliveryResult(
        accepted=len(delivery.events),
        new=new,
        duplicates=len(delivery.events) - new,
        quarantined=len(delivery.rejections),
    )
