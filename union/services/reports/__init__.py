"""The anonymized reports: a fixed catalogue, built once when a survey round
closes and stored as immutable artifacts, then pulled as they are.

- artifact.py: what a stored artifact holds (the contract, typed);
- catalogue.py: one entry per report: where it is published, what it counts,
  what it adds to an artifact, how its page shows it;
- building.py: closing a round: counting, protecting and storing everything;
  counting.py, medians.py and records.py gather the figures it protects;
- presenting.py: an artifact as tables, a chart and readings;
- pulling.py: a closed round's artifacts, audited on every pull.
"""

from union.services.reports.pulling import (
    OutsideCatalogue,
    Pulled,
    check_request,
    closed_round,
    csv_of,
    csv_of_table,
    pull,
    workplaces_with_reports,
)

__all__ = [
    "OutsideCatalogue",
    "Pulled",
    "check_request",
    "closed_round",
    "csv_of",
    "csv_of_table",
    "pull",
    "workplaces_with_reports",
]
