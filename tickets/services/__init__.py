"""Operations that change tickets, one module per concern; callers use `from tickets import services`.

- `transitions`: `fire` and `perform_transition`, the one path of every workflow transition (lock the
  ticket, check state and permission, validate the declared parameters, run the hooks, log), and
  `fire_many`, the same for many tickets in one transaction with set-based hooks (bulk approval).
- `reports`: a new report with its serial numbers and screenshots, evidence attached later, a lost
  tracking link sent again.
- `assignment`: assigning, "next ticket", and the reminder of a ticket waiting for the applicant.
- `erasure`: personal data erased on request or after retention.
- `assisted`: a report an agent takes for a caller, and a message-opened ticket completed into one.
"""

from tickets.services.assignment import (
    assign,
    claim_next,
    flag_applicant_reply,
    mark_reply_seen,
    send_info_reminder,
)
from tickets.services.assisted import complete_report, open_for_caller
from tickets.services.erasure import REDACTED, erase_personal_data
from tickets.services.reports import (
    attach_evidence,
    delete_files,
    processed_images,
    resend_tracking_link,
    submit_report,
)
from tickets.services.transitions import (
    Change,
    available_transitions,
    check_transition,
    find_original,
    fire,
    fire_many,
    lock_ticket,
    perform_transition,
    required_text,
    transitioning,
)

__all__ = [
    "REDACTED",
    "Change",
    "assign",
    "attach_evidence",
    "available_transitions",
    "check_transition",
    "claim_next",
    "complete_report",
    "delete_files",
    "erase_personal_data",
    "find_original",
    "flag_applicant_reply",
    "fire",
    "fire_many",
    "lock_ticket",
    "open_for_caller",
    "mark_reply_seen",
    "perform_transition",
    "processed_images",
    "required_text",
    "resend_tracking_link",
    "send_info_reminder",
    "submit_report",
    "transitioning",
]
