"""Writing an exception note as an agency event (``exception.noted``).

The page and the command line write the same message an agency's own system would send
over Kafka, and it takes the same signed ingest path, so a note is accepted, audited and
replayed like any event. Its id derives from its content: the same note sent twice is a
duplicate, never a second note.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from domain.contract import EXCEPTION_NOTE_TYPE, SCHEMA_VERSION

NOTE_TYPE = EXCEPTION_NOTE_TYPE


def note_message(*, agency: str, measure: str, month: str, what_happened: str, why: str,
                 recovery: str, recover_by: str, owner: str, written_on: date,
                 supersedes: str | None = None) -> dict[str, Any]:
    """The envelope of a note (unsigned: the pusher's key signs it)."""
    payload = {"measure": measure, "month": month, "what_happened": what_happened.strip(),
               "why": why.strip(), "recovery": recovery.strip(), "recover_by": recover_by,
               "owner": owner.strip()}
    digest = hashlib.sha256(json.dumps([agency, payload, supersedes], sort_keys=True)
                            .encode("utf-8")).hexdigest()[:16]
    message: dict[str, Any] = {
        "event_id": f"xn-{month}-{digest}", "agency": agency, "type": NOTE_TYPE,
        "schema_version": SCHEMA_VERSION, "occurred_at": written_on.isoformat(),
        "payload": payload,
    }
    if supersedes:
        message["supersedes"] = supersedes
    return message
