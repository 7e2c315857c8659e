"""The noise of the sensitive answers, tested against its theory.

OpenDP draws from the operating system's secure random source, which cannot be
seeded, so these tests draw many times and compare with the exact distribution
using bounds that a correct mechanism breaks with probability below 1e-9: they
cannot fail by chance in any number of runs anyone will make, and a wrong scale
(or no noise) breaks them at once.
"""

from __future__ import annotations

import math

import pytest
from scipy.stats import beta, binom

from union.adapters import noise

DRAWS = 20_000
#: A correct mechanism breaks a bound with probability below this.
NEVER = 1e-9


def probability_within(k: int, epsilon: float) -> float:
    """P(|X| <= k) for the discrete Laplace with P(x) proportional to a^|x|."""
    a = math.exp(-epsilon / noise.SENSITIVITY)
    return 1 - 2 * a ** (k + 1) / (1 + a)


def binomial_bounds(p: float, n: int) -> tuple[int, int]:
    return int(binom.ppf(NEVER / 2, n, p)), int(binom.isf(NEVER / 2, n, p))


@pytest.mark.parametrize("epsilon", [1.0, 0.5])
def test_the_noise_spreads_as_the_discrete_laplace_of_its_scale(epsilon):
    # One long vector: every count gets its own independent draw.
    true = [40, 25, 0] * (DRAWS // 3)
    drawn = noise.noisy_counts(true, epsilon)
    errors = [d - t for d, t in zip(drawn, true, strict=True)]
    for k in (0, 1, 3, noise.give_or_take(epsilon)):
        inside = sum(abs(e) <= k for e in errors)
        low, high = binomial_bounds(probability_within(k, epsilon), len(errors))
        assert low <= inside <= high, (k, inside, low, high)
    # Centred on the truth: the mean error is within a few standard errors of 0.
    a = math.exp(-epsilon / noise.SENSITIVITY)
    standard_error = math.sqrt(2 * a / (1 - a) ** 2 / len(errors))
    assert abs(sum(errors) / len(errors)) < 7 * standard_error


def test_no_noise_or_too_little_noise_breaks_the_test_above():
    """The positive control: the same bounds refuse a mechanism at twice the
    epsilon (half the noise)."""
    errors = [d - 40 for _ in range(DRAWS) for d in noise.noisy_counts([40], 2.0)]
    inside = sum(abs(e) <= 1 for e in errors)
    low, high = binomial_bounds(probability_within(1, 1.0), len(errors))
    assert not low <= inside <= high


@pytest.mark.parametrize("epsilon", [1.0, 0.5])
@pytest.mark.parametrize("cells", [1, 2, 4])
def test_give_or_take_holds_nine_times_in_ten_for_sums(epsilon, cells):
    k = noise.give_or_take(epsilon, cells=cells)
    drawn = noise.noisy_counts([0] * DRAWS, epsilon)
    sums = [sum(drawn[i : i + cells]) for i in range(0, DRAWS - cells + 1, cells)]
    inside = sum(abs(s) <= k for s in sums)
    # At least 90% in theory (and no more than the next k would give).
    low, _ = binomial_bounds(0.9, len(sums))
    assert inside >= low
    tighter = noise.give_or_take(epsilon, cells=cells) - 1
    inside_tighter = sum(abs(s) <= tighter for s in sums)
    _, high = binomial_bounds(0.9, len(sums))
    assert inside_tighter <= high


def test_give_or_take_of_one_draw_agrees_with_the_convolution():
    for epsilon in (0.25, 0.5, 1.0):
        pmf = noise._sum_pmf(epsilon, 1)
        middle = len(pmf) // 2
        k, covered = 0, pmf[middle]
        while covered < 0.9:
            k += 1
            covered += pmf[middle - k] + pmf[middle + k]
        assert noise.give_or_take(epsilon) == k


def audit_holds(mechanism_epsilon: float, claimed_epsilon: float) -> bool:
    """A differential-privacy audit: two tables that differ only in one person's
    answer (yes in one, no in the other), drawn many times. For every threshold
    event S and its complement, in both directions, the draws must allow
    P(S|D) <= e^epsilon P(S|D') within Clopper-Pearson bounds at 1e-9."""
    # The "yes" count of each table, drawn DRAWS times in one long vector.
    first = noise.noisy_counts([20] * DRAWS, mechanism_epsilon)
    second = noise.noisy_counts([19] * DRAWS, mechanism_epsilon)
    bound = math.exp(claimed_epsilon)

    def lowest(hits: int) -> float:
        return float(beta.ppf(NEVER / 2, hits, DRAWS - hits + 1)) if hits else 0.0

    def highest(hits: int) -> float:
        return (
            float(beta.isf(NEVER / 2, hits + 1, DRAWS - hits)) if hits < DRAWS else 1.0
        )

    for threshold in range(12, 28):
        a = sum(value >= threshold for value in first)
        b = sum(value >= threshold for value in second)
        for x, y in ((a, b), (b, a), (DRAWS - a, DRAWS - b), (DRAWS - b, DRAWS - a)):
            if lowest(x) > bound * highest(y):
                return False
    return True


@pytest.mark.parametrize("epsilon", [1.0, 0.5])
def test_one_answer_changes_no_outcome_by_more_than_e_to_the_epsilon(epsilon):
    assert audit_holds(epsilon, epsilon)


def test_the_audit_catches_a_mechanism_that_spends_more_than_it_claims():
    assert not audit_holds(8.0, 1.0)
