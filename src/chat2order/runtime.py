"""The process-wide runtime: settings plus the shared, long-lived pieces built from them.

One `Runtime` per process (web, smtp, worker), made once at start-up with `Runtime.from_settings`. Every
piece is built lazily on first use, so a web process never loads spaCy or the catalog indexes and
`chat2order --help` stays instant. Tests build their own Runtime around their fixtures by passing the
pieces in (`Runtime(settings, engine=..., sessionmaker=..., queue=...)`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from chat2order.config import Settings

if TYPE_CHECKING:
    from chat2order.jobs import JobQueue


class Runtime:
    """Settings, engine, session factory, job queue, parse-context builder and notify senders."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        sessionmaker: sessionmaker[Session] | None = None,
        queue: JobQueue | None = None,
        contexts: Any | None = None,
        senders: Any | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._queue = queue
        self._contexts = contexts
        self._senders = senders
        # Lazy pieces may be first touched from two request threads at once; build each exactly once.
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(settings)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from chat2order.db import make_engine

                    self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    @property
    def sessionmaker(self) -> sessionmaker[Session]:
        if self._sessionmaker is None:
            with self._lock:
                if self._sessionmaker is None:
                    from chat2order.db import session_factory

                    self._sessionmaker = session_factory(self.engine)
                    # Committed order/message changes reach the web chat pages (Redis pub/sub across processes).
                    from chat2order import live

                    live.attach(self._sessionmaker, live.broker_for(self.settings.redis_url))
        return self._sessionmaker

    @property
    def queue(self) -> JobQueue:
        if self._queue is None:
            with self._lock:
                if self._queue is None:
                    from chat2order.jobs import queue_from_settings

                    self._queue = queue_from_settings(self.settings, runtime=self)
        return self._queue

    @property
    def contexts(self) -> Any:
        """The `ContextBuilder` (catalog indexes cached per supplier), built on first use."""
        if self._contexts is None:
            with self._lock:
                if self._contexts is None:
                    from chat2order.ordering.context import ContextBuilder

                    self._contexts = ContextBuilder()
        return self._contexts

    @property
    def senders(self) -> Any:
        """The notify senders chosen from the settings (Twilio, SMTP relay or the local outbox folder)."""
        if self._senders is None:
            with self._lock:
                if self._senders is None:
                    from chat2order.notify import senders_from_settings

                    self._senders = senders_from_settings(self.settings)
        return self._senders

    def close(self) -> None:
        """Drain the in-process queue (if any), then release the senders' kept connections and the database's."""
        queue = self._queue
        if queue is not None and hasattr(queue, "close"):
            queue.close()
        if self._senders is not None and hasattr(self._senders, "close"):
            self._senders.close()
        if self._engine is not None:
            self._engine.dispose()
