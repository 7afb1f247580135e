"""The tracking workbook of a notice: those who have not acknowledged, and everyone."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.clock import to_local
from bot.i18n import _
from bot.models import Notice
from bot.services import cells
from bot.services.notices.tracking import RecipientStatus, recipients_of


def export_xlsx(session: Session, notice: Notice) -> bytes:
    """The recipients of a notice: a sheet of those who have not acknowledged, and everyone."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    items = recipients_of(session, notice)
    workbook = Workbook()
    headers = [_("Upper-level union"), _("Unit code"), _("Unit"), _("Person"), _("Status"),
               _("Delivered at"), _("Acknowledged at"), _("Note")]

    def fill(sheet, rows: list[RecipientStatus]) -> None:  # type: ignore[no-untyped-def]
        sheet.append([_("Notice {ref}").format(ref=notice.reference)])
        sheet["A1"].font = Font(bold=True)
        sheet.append(headers)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for r in rows:
            sheet.append([
                r.union.name if r.union else "", r.unit.code, r.unit.name, r.person.full_name, r.status(),
                _excel_time(r.delivery.delivered_at), _excel_time(r.delivery.acked_at), r.reason,
            ])
        sheet.freeze_panes = "A3"
        for column, width in zip("ABCDEFGH", (32, 12, 40, 28, 16, 18, 18, 24)):
            sheet.column_dimensions[column].width = width

    first = workbook.active
    first.title = _("Not acknowledged")[:31]
    fill(first, [r for r in items if r.delivery.acked_at is None])
    fill(workbook.create_sheet(_("All recipients")[:31]), items)
    return cells.save_workbook(workbook)  # a display name like "=HYPERLINK(…)" stays text


def _excel_time(value: datetime | None) -> datetime | None:
    return to_local(value).replace(tzinfo=None) if value is not None else None
