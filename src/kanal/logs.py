"""Logging: JSON lines when not on a terminal (for collectors), plain text on one.

Records carry kanal's ids as ``extra={"tenant_id": …, "message_id": …, "delivery_id": …}``;
the JSON form writes them as fields, so one delivery's story can be found by its id.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

IDS = ("tenant_id", "message_id", "delivery_id", "worker_id", "channel", "status", "code")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in IDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = str(value)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str = "info", *, json_lines: bool | None = None) -> None:
    """Configure the root logger once per process (uvicorn's loggers included)."""
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if use_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
