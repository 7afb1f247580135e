"""The audit log: one row for every change someone made (imports, submissions, locks…)."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from bot.models import AuditLog

log = logging.getLogger(__name__)


def record(
    session: Session,
    action: str,
    *,
    entity: str = "",
    entity_id: int | None = None,
    person_id: int | None = None,
    actor: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the session (the caller commits) and return it."""
    row = AuditLog(
        action=action,
        entity=entity,
        entity_id=entity_id,
        person_id=person_id,
        actor=actor,
        detail=dict(detail or {}),
    )
    session.add(row)
    log.info("audit %s %s#%s by %s %s", action, entity, entity_id, actor or person_id, detail or "")
    return row
