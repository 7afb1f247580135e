"""Notices (thông báo, công văn): who gets them, the send-once enqueue, deliveries,
acknowledgements, progress and the reports staff read afterwards.

A notice is composed as a draft row; "Gửi" flips it from draft to queued with a guarded
UPDATE and, in the same transaction, writes one NoticeDelivery per recipient and one
outbox push per reachable recipient, so a second "Gửi" (a stale button, a double press,
a redelivered update) finds nothing to flip and enqueues nothing. Outbox keys:

    ntc|<notice>|<person>          the notice to one recipient
    ntc|<notice>|<person>|r<n>     the n-th resend to those who have not acknowledged
    ntcp|<notice>                  the sender's progress message (then edited in place)
    ntcr|<notice>                  the sender's final report

The audience is always cut to the sender's visible subtree, whatever the stored choice
says. Texts are rendered per recipient language; the preview uses the same function.

One job per module: `common` (limits, statuses, audience kinds), `audience`,
`compose` (drafts, rendering), `sending` (queue, deliveries, resend), `acknowledgements`,
`progress` (delivery counts, progress message, final report), `tracking` (who got it), `export`
(the workbook). This package re-exports the public names.
"""

from bot.services.notices.acknowledgements import (
    acknowledge,
    AckOutcome,
)
from bot.services.notices.audience import (
    best_identities,
    count_recipients,
    describe_audience,
    Recipient,
    resolve_audience,
    sectors_present,
    units_by_codes,
    upper_unions,
    visible_units,
)
from bot.services.notices.common import (
    AudienceKind,
    BROADCASTERS,
    can_broadcast,
    CHUNK,
    check_document,
    chunks,
    DOCUMENT_EXTENSIONS,
    FAILED_LISTED,
    FileProblem,
    is_document,
    MAX_BODY,
    MAX_FILE_BYTES,
    NoticeStatus,
    sector_label,
    SECTOR_LABELS,
)
from bot.services.notices.compose import (
    cancel_draft,
    render,
    save_draft,
    sender_unit_name,
    sending_time,
    split_file_id,
)
from bot.services.notices.export import (
    export_xlsx,
)
from bot.services.notices.progress import (
    DeliveryCounts,
    delivery_counts,
    duration,
    final_progress_text,
    final_report,
    finish,
    progress_push_key,
    progress_shown,
    progress_text,
    preparing_text,
    progress_work,
    ProgressEdit,
)
from bot.services.notices.sending import (
    fill_chunk,
    INLINE_LIMIT,
    queue,
    queuing_notices,
    start_queuing,
    Queued,
    record_delivery,
    resend_unacknowledged,
)
from bot.services.notices.tracking import (
    can_manage,
    group_by_union,
    not_acknowledged,
    recent,
    recipients_of,
    RecipientStatus,
    when_label,
)

__all__ = [
    "AckOutcome",
    "AudienceKind",
    "BROADCASTERS",
    "CHUNK",
    "DeliveryCounts",
    "DOCUMENT_EXTENSIONS",
    "FAILED_LISTED",
    "MAX_BODY",
    "MAX_FILE_BYTES",
    "NoticeStatus",
    "ProgressEdit",
    "Queued",
    "Recipient",
    "RecipientStatus",
    "SECTOR_LABELS",
    "acknowledge",
    "best_identities",
    "can_broadcast",
    "can_manage",
    "cancel_draft",
    "check_document",
    "chunks",
    "delivery_counts",
    "describe_audience",
    "duration",
    "export_xlsx",
    "final_progress_text",
    "final_report",
    "finish",
    "group_by_union",
    "FileProblem",
    "is_document",
    "not_acknowledged",
    "progress_push_key",
    "progress_shown",
    "progress_text",
    "progress_work",
    "queue",
    "queuing_notices",
    "start_queuing",
    "fill_chunk",
    "INLINE_LIMIT",
    "count_recipients",
    "preparing_text",
    "recent",
    "recipients_of",
    "record_delivery",
    "resend_unacknowledged",
    "render",
    "resolve_audience",
    "save_draft",
    "sector_label",
    "sectors_present",
    "sender_unit_name",
    "split_file_id",
    "sending_time",
    "units_by_codes",
    "upper_unions",
    "visible_units",
    "when_label",
]
