"""The contract's standard measures, each defined once as SQL over the standing facts.

A flow measure counts facts that occurred in the report window. A state measure
(``open_cases``, ``actions_complete``) is the position at the end of ``as_at`` and is
not windowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    aggregate: str  # SQL aggregate over the standing facts that match ``where``
    where: str


FLOW_MEASURES: tuple[Measure, ...] = (
    Measure("workforce_trained", "Workers trained (CSE training and events)",
            "sum(attendees)", "type = 'training.delivered' AND audience = 'workforce'"),
    Measure("community_trained", "Community members at CSE awareness training",
            "sum(attendees)", "type = 'training.delivered' AND audience = 'community'"),
    Measure("schools_reached", "Schools reached by prevention sessions",
            "count(DISTINCT school)", "type = 'school.session_delivered'"),
    Measure("pupils_reached", "Pupils attending prevention sessions",
            "sum(pupils)", "type = 'school.session_delivered'"),
    Measure("helpline_contacts", "Helpline contacts",
            "count(*)", "type = 'helpline.contact'"),
    Measure("helpline_cse_contacts", "Helpline contacts about CSE in the area",
            "count(*)", "type = 'helpline.contact' AND cse_related AND in_area"),
    Measure("helpline_referrals", "Helpline contacts referred into services",
            "count(*)", "type = 'helpline.contact' AND outcome = 'referral'"),
    Measure("referrals_received", "Referrals received by support services",
            "count(*)", "type = 'referral.received'"),
    Measure("cases_closed", "Cases closed", "count(*)", "type = 'case.closed'"),
)

OPEN_CASES = Measure(
    "open_cases", "Cases open at the end of the period",
    "count(DISTINCT agency || '/' || case_ref)",
    "type = 'referral.received' AND NOT EXISTS (SELECT 1 FROM upto c "
    "WHERE c.type = 'case.closed' AND c.agency = upto.agency "
    "AND c.case_ref = upto.case_ref AND c.episode = upto.episode)",
)
ACTIONS_COMPLETE = Measure(
    "actions_complete", "Delivery-plan actions complete", "count(*)", "status = 'complete'"
)

MEASURE_IDS: tuple[str, ...] = (
    *(m.id for m in FLOW_MEASURES), OPEN_CASES.id, ACTIONS_COMPLETE.id,
)
