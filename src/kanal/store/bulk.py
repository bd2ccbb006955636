"""Writing new rows with Core INSERTs instead of a unit-of-work flush.

The hot paths (compose, the worker's results) write a few new rows per message; the
ORM's flush bookkeeping costs more than the INSERTs themselves there. The rows are
ordinary mapped objects, kept transient: callers use them afterwards as read models.
"""

import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from kanal.store.orm import Base


def _values(table: Table, obj: Base) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in table.columns:
        value = getattr(obj, column.key, None)
        if value is None and column.default is not None:
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
            setattr(obj, column.key, value)  # the caller's object shows what was stored
        values[column.key] = value
    return values


def insert_rows(session: Session, rows: Sequence[Base]) -> None:
    """INSERT transient objects, in the order given (parents first), one statement per run."""
    for model, group in itertools.groupby(rows, type):
        table: Table = model.__table__  # type: ignore[attr-defined]
        session.execute(table.insert(), [_values(table, obj) for obj in group])
