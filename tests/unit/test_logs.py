"""Logs are JSON lines with kanal's ids when not on a terminal."""

import io
import json
import logging
import uuid

from kanal.logs import JsonFormatter


def test_json_lines_carry_the_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("kanal.test.logs")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    delivery, tenant = uuid.uuid4(), uuid.uuid4()
    log.info(
        "delivery %s: %s", delivery, "queued", extra={"delivery_id": delivery, "tenant_id": tenant}
    )
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"delivery_id": delivery})
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == f"delivery {delivery}: queued"
    assert (first["delivery_id"], first["tenant_id"], first["level"]) == (
        str(delivery),
        str(tenant),
        "info",
    )
    assert "ValueError: boom" in second["error"]
    log.removeHandler(handler)
