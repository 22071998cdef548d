"""The scorecard application: one event-sourced application composed of its parts.

Intake (``domain/intake.py``) decides agencies' deliveries, administration
(``domain/administration.py``) keeps the plan, agencies, keys and users, governance
(``domain/governance.py``) the sign-offs. They share one event store and one log, so a
batch of deliveries, a new key and a board's acceptance are ordered against each other;
the store's own SQL lives in its recorder (``scorecard/recorders.py``), chosen by the
composition root (``scorecard/bootstrap.py``).
"""

from __future__ import annotations

from domain.administration import Administration
from domain.governance import Governance
from domain.intake import Delivery, Intake, Outcome

__all__ = ["Delivery", "Outcome", "Scorecard"]


class Scorecard(Intake, Administration, Governance):
    """The partnership's event-sourced core."""

    name = "scorecard"
