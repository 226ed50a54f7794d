"""Storage of every prediction (SQLAlchemy 2): inputs, outputs, model version and hash, time, case reference.

SQLite by default, in WAL mode with a busy timeout and in-process write serialisation so that concurrent
requests all get stored; PostgreSQL (or any SQLAlchemy database) by URL, through a connection pool. Each call
of :meth:`PredictionStore.add` is one transaction: a failure stores nothing and raises
:class:`StoreUnavailable` (the app answers 503). Text columns carry CHECK constraints on their length, so
SQLite and PostgreSQL refuse the same rows. No patient identifiers are logged: the app logs prediction ids
only. The optional case reference is whatever the user typed; do not use names or medical record numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from her2mri.exceptions import Her2MriError

__all__ = ["MAX_REFERENCE_LENGTH", "PredictionRecord", "PredictionStore", "StoreUnavailable", "normalise_url"]

MAX_REFERENCE_LENGTH = 200
"""Longest case reference or lesion id, in the form, the API and the database alike."""


class StoreUnavailable(Her2MriError):
    """The prediction store could not save (or read); nothing was written."""


class Base(DeclarativeBase):
    pass


class PredictionRecord(Base):
    """One stored prediction (one lesion)."""

    __tablename__ = "predictions"
    __table_args__ = (
        CheckConstraint(f"length(case_reference) <= {MAX_REFERENCE_LENGTH}", name="case_reference_length"),
        CheckConstraint(f"length(lesion_id) <= {MAX_REFERENCE_LENGTH}", name="lesion_id_length"),
        CheckConstraint("length(source) <= 20", name="source_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    case_reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE_LENGTH), nullable=True)
    lesion_id: Mapped[str | None] = mapped_column(String(MAX_REFERENCE_LENGTH), nullable=True)
    model_version: Mapped[str] = mapped_column(String(50))
    model_sha256: Mapped[str] = mapped_column(String(64), index=True)
    call: Mapped[str] = mapped_column(String(50))
    p_zero: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_positive: Mapped[float | None] = mapped_column(Float, nullable=True)
    out_of_distribution: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="api")
    inputs_json: Mapped[str] = mapped_column(Text)
    outputs_json: Mapped[str] = mapped_column(Text)

    @property
    def inputs(self) -> dict[str, Any]:
        return json.loads(self.inputs_json)

    @property
    def outputs(self) -> dict[str, Any]:
        return json.loads(self.outputs_json)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def normalise_url(url: str) -> str:
    """``postgresql://…`` uses the pure-Python pg8000 driver when psycopg is not installed."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        import importlib.util

        if not any(importlib.util.find_spec(m) for m in ("psycopg2", "psycopg")):
            parsed = parsed.set(drivername="postgresql+pg8000")
    return parsed.render_as_string(hide_password=False)


class PredictionStore:
    """Thin repository over the predictions table. ``pool_size`` connections are kept for a server database."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        url = normalise_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            kwargs |= {"connect_args": {"check_same_thread": False, "timeout": 30}, "pool_size": pool_size,
                       "max_overflow": 30, "pool_timeout": 60}
        else:
            kwargs |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": 30,
                       "pool_recycle": 1800}
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.is_sqlite else None

    def add(self, records: Sequence[PredictionRecord]) -> list[int]:
        """Insert records in one transaction; returns their ids. Raises :class:`StoreUnavailable` (nothing
        stored) when the database refuses or cannot be reached; the message names the error class only, never
        the values."""
        try:
            if self._write_lock is not None:
                with self._write_lock:
                    return self._add(records)
            return self._add(records)
        except SQLAlchemyError as exc:
            msg = f"The prediction store could not save ({type(exc).__name__}); nothing was stored."
            raise StoreUnavailable(msg) from None

    def _add(self, records: Sequence[PredictionRecord]) -> list[int]:
        with self._sessions.begin() as session:
            session.add_all(records)
            session.flush()
            return [int(r.id) for r in records]

    def count(self) -> int:
        try:
            with self._sessions() as session:
                return int(session.scalar(select(func.count(PredictionRecord.id))) or 0)
        except SQLAlchemyError as exc:
            msg = f"The prediction store could not be read ({type(exc).__name__})."
            raise StoreUnavailable(msg) from None

    def recent(self, limit: int = 100, offset: int = 0) -> list[PredictionRecord]:
        with self._sessions() as session:
            query = select(PredictionRecord).order_by(PredictionRecord.id.desc()).limit(limit).offset(offset)
            return list(session.scalars(query))

    def get(self, prediction_id: int) -> PredictionRecord | None:
        with self._sessions() as session:
            return session.get(PredictionRecord, prediction_id)

    def iter_all(self, batch: int = 500) -> Iterator[PredictionRecord]:
        with self._sessions() as session:
            yield from session.scalars(select(PredictionRecord).order_by(PredictionRecord.id).execution_options(yield_per=batch))

    def dispose(self) -> None:
        self.engine.dispose()

