"""Noisy counts for differential privacy, drawn by OpenDP.

OpenDP (the Harvard-led OpenDP project) implements the discrete Laplace
mechanism in its Rust core and samples from the operating system's secure random
source; nothing here draws noise itself. OpenDP marks every mechanism that has
not yet been through its own vetting process as "contrib" and asks for that to be
switched on; the discrete Laplace is one of them.

The unit protected is one person's answer to one question. Changing it moves one
count down by one and another up by one, so two tables that differ only in that
answer are 2 apart in L1 distance: the noise is scaled for that.

OpenDP (some 16 MB) is imported when noise is first drawn or its spread worked
out, not with the app: only closing a round and the reports index need it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

#: How far one person's answer can move a table of counts (L1 distance).
SENSITIVITY = 2


def scale_for(epsilon: float) -> float:
    return SENSITIVITY / epsilon


@functools.cache
def _opendp() -> ModuleType:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@functools.lru_cache(maxsize=16)
def _mechanism(epsilon: float) -> Any:
    dp = _opendp()
    measurement = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)),
        dp.l1_distance(T=int),
        scale=scale_for(epsilon),
    )
    spent = measurement.map(SENSITIVITY)
    if spent > epsilon * (1 + 1e-9):
        raise ValueError(f"the mechanism would spend {spent}, more than {epsilon}")
    return measurement


def noisy_counts(counts: Sequence[int], epsilon: float) -> list[int]:
    """The counts with discrete Laplace noise: epsilon-differentially private for
    any one person's answer."""
    return [int(value) for value in _mechanism(epsilon)(list(counts))]


def give_or_take(epsilon: float, cells: int = 1, confidence: float = 0.9) -> int:
    """The smallest k such that the noise of a sum of `cells` noisy counts is
    within k of zero at least `confidence` of the time."""
    if cells == 1:
        # OpenDP's own bound for one draw: P(|noise| > accuracy) <= 1 - confidence.
        accuracy = _opendp().discrete_laplacian_scale_to_accuracy(
            scale=scale_for(epsilon), alpha=1 - confidence
        )
        return math.floor(accuracy)
    pmf = _sum_pmf(epsilon, cells)
    middle = len(pmf) // 2
    covered = pmf[middle]
    k = 0
    while covered < confidence:
        k += 1
        covered += pmf[middle - k] + pmf[middle + k]
    return k


@functools.lru_cache(maxsize=64)
def _sum_pmf(epsilon: float, cells: int) -> tuple[float, ...]:
    """The distribution of the sum of `cells` independent discrete Laplace draws
    (P(x) proportional to a^|x|, a = exp(-1/scale)), worked out by convolution
    over a support wide enough that what is left out is below 1e-12."""
    a = math.exp(-1 / scale_for(epsilon))
    reach = math.ceil(math.log(1e-12 * (1 - a) / 2) / math.log(a))
    single = [(1 - a) / (1 + a) * a ** abs(x) for x in range(-reach, reach + 1)]
    total = [1.0]
    for _ in range(cells):
        total = _convolve(total, single)
    return tuple(total)


def _convolve(first: Sequence[float], second: Sequence[float]) -> list[float]:
    out = [0.0] * (len(first) + len(second) - 1)
    for i, p in enumerate(first):
        if p:
            for j, q in enumerate(second):
                out[i + j] += p * q
    return out
