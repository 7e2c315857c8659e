"""The anonymized reports: built once when a survey round closes (building.py)
and pulled as stored (pulling.py)."""

from union.services.reports.pulling import (
    OutsideCatalogue,
    Pulled,
    check_request,
    closed_round,
    csv_of,
    pull,
    workplaces_with_reports,
)

__all__ = [
    "OutsideCatalogue",
    "Pulled",
    "check_request",
    "closed_round",
    "csv_of",
    "pull",
    "workplaces_with_reports",
]
