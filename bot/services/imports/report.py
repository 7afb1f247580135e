"""The outcome of an import: counts, bad rows, and the audit row when something changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.i18n import _
from bot.services import audit

log = logging.getLogger(__name__)

FILE_LINE = 0  # line number used for problems with the file as a whole


@dataclass
class ImportReport:
    """What an import did (or, with errors, why it did nothing)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file was accepted (and, if anything changed, written)."""
        return not self.errors

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def add_error(self, line: int, message: str) -> None:
        self.errors.append((line, message))

    def error_lines(self) -> list[str]:
        """Errors as translated lines ready to show: 'Line 3: …'."""
        out = []
        for line, message in sorted(self.errors, key=lambda e: e[0]):
            if line == FILE_LINE:
                out.append(message)
            else:
                out.append(_("Line {line}: {message}").format(line=line, message=message))
        return out


def finish(
    session: Session, report: ImportReport, action: str, entity: str, actor: str, source: str
) -> ImportReport:
    """Flush and write the audit row when something changed."""
    session.flush()
    if report.created or report.updated:
        audit.record(
            session,
            action,
            entity=entity,
            actor=actor,
            detail={
                "file": source,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            },
        )
        session.flush()
    log.info(
        "%s from %s: %d created, %d updated, %d unchanged",
        action, source or "-", report.created, report.updated, report.unchanged,
    )
    return report


def reject(report: ImportReport, action: str, source: str) -> ImportReport:
    report.errors.sort(key=lambda e: e[0])
    log.info("%s from %s rejected: %d bad row(s)", action, source or "-", len(report.errors))
    return report
