"""The mixed scenario of `make bench`, shared by the load generator
(benchmarks/locustfile.py) and the runner (benchmarks/run.py), which predicts
from each endpoint's throughput alone the rate the server should sustain for it.

Every endpoint is listed with the role of the users who request it and its
weight among that role's requests; weight 0 is measured alone only.
"""

from __future__ import annotations

#: Endpoint name: (role, weight among that role's requests in the mix).
MIX: dict[str, tuple[str, int]] = {
    "bare flask": ("member", 0),
    "floor": ("member", 4),
    "dues page": ("member", 8),
    "steward dashboard": ("steward", 4),
    "steward home": ("steward", 2),
    "applicants": ("steward", 1),
    "raise a problem": ("member", 1),
    "notifications": ("member", 1),
    "call list": ("steward", 1),
    "messages": ("organizer", 1),
    "write a message": ("organizer", 1),
    "dues levels": ("treasurer", 1),
    "roster search": ("steward", 3),
    "grievance page": ("steward", 3),
    "case search": ("steward", 1),
    "arrears list": ("treasurer", 1),
    "ledger page": ("treasurer", 1),
    "whole ledger": ("treasurer", 1),
    "treasury": ("treasurer", 1),
    "member dues": ("treasurer", 1),
    "organizer report": ("organizer", 1),
    "survey report": ("organizer", 2),
    "csv export": ("treasurer", 1),
    "arrears csv": ("treasurer", 1),
    "webhook": ("webhook", 4),
}

#: Users of each role in the mixed scenario, each at the same rate.
USERS_BY_ROLE = {
    "member": 4,
    "steward": 4,
    "treasurer": 1,
    "organizer": 1,
    "webhook": 2,
}


def in_the_mix(name: str) -> bool:
    return MIX[name][1] > 0


def shares() -> dict[str, float]:
    """Each endpoint's share of the mixed scenario's requests: every user asks at
    the same rate, and splits its requests by weight among its role's endpoints."""
    users = sum(USERS_BY_ROLE.values())
    role_weight: dict[str, int] = {}
    for role, weight in MIX.values():
        role_weight[role] = role_weight.get(role, 0) + weight
    return {
        name: USERS_BY_ROLE[role] / users * weight / role_weight[role]
        for name, (role, weight) in MIX.items()
        if weight > 0
    }


def predicted_rate(alone: dict[str, float]) -> float:
    """Requests a second the server should sustain for the mix, from each
    endpoint's requests a second alone (the server saturated by it): a request
    of an endpoint takes 1/rate of the server's capacity, so the mix's rate is
    the weighted harmonic mean. 0 when an endpoint in the mix served none."""
    cost = 0.0
    for name, share in shares().items():
        rate = alone.get(name, 0.0)
        if rate <= 0:
            return 0.0
        cost += share / rate
    return 1 / cost if cost else 0.0
