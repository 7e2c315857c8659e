import dataclasses
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from union.rules.disclosure import (
    DEFAULT_RULES,
    Equation,
    Figure,
    Key,
    Quantiles,
    Rules,
    Status,
    count_band,
    homogeneous,
    protect_counts,
    protect_overlaps,
    quantiles,
)

SMALL = range(1, DEFAULT_RULES.min_count)


def feasible_values(
    counts: Mapping[Key, int],
    equations: Sequence[Equation],
    statuses: Mapping[Key, Status],
) -> dict[Key, set[int]]:
    """For each hidden cell, values it can take in an integer assignment that agrees
    with what is published: shown cells exact, "fewer than 5" cells in 1..4, other
    hidden cells in 0..the largest count, every equation holding. The set holds the
    true value when the true table passes those checks, plus the nearest other value
    when any exists (the search is exhaustive, so a missing one means none exists).

    Written independently of the module: a depth-first search that narrows every
    cell's range from each equation in turn, then fixes the cell with the narrowest
    range, values nearest the truth first. Listing every feasible value instead would
    mean proving most candidates infeasible one by one, which is exponential once a
    cascade hides most of a table.
    """
    bound = max(counts.values())
    start: dict[Key, tuple[int, int]] = {}
    for key, value in counts.items():
        if statuses[key] is Status.SHOWN:
            start[key] = (value, value)
        elif statuses[key] is Status.FEWER_THAN_MIN:
            start[key] = (1, DEFAULT_RULES.min_count - 1)
        else:
            start[key] = (0, bound)
    hidden = sorted(
        (key for key in counts if statuses[key] is not Status.SHOWN), key=repr
    )
    # A reader who knows the rules knows a HIDDEN count is not 1..4 (those read
    # "fewer than 5") unless it was relabelled while small.
    gapped = {
        key
        for key in hidden
        if statuses[key] is Status.HIDDEN and counts[key] not in SMALL
    }

    def narrow(ranges: dict[Key, tuple[int, int]]) -> bool:
        changed = True
        while changed:
            changed = False
            for equation in equations:
                # total - sum(parts) = 0, written as signed terms.
                terms = [(equation.total, 1)] + [(part, -1) for part in equation.parts]
                for cell, sign in terms:
                    rest_low = sum(
                        ranges[c][0] if s > 0 else -ranges[c][1]
                        for c, s in terms
                        if c != cell
                    )
                    rest_high = sum(
                        ranges[c][1] if s > 0 else -ranges[c][0]
                        for c, s in terms
                        if c != cell
                    )
                    need_low, need_high = (
                        (-rest_high, -rest_low) if sign > 0 else (rest_low, rest_high)
                    )
                    low = max(ranges[cell][0], need_low)
                    high = min(ranges[cell][1], need_high)
                    if low > high:
                        return False
                    if (low, high) != ranges[cell]:
                        ranges[cell] = (low, high)
                        changed = True
        return True

    def solve(ranges: dict[Key, tuple[int, int]]) -> dict[Key, int] | None:
        if not narrow(ranges):
            return None
        if any(ranges[key][0] == ranges[key][1] in SMALL for key in gapped):
            return None
        open_cells = [key for key in hidden if ranges[key][0] < ranges[key][1]]
        if not open_cells:
            return {key: low for key, (low, _) in ranges.items()}
        cell = min(open_cells, key=lambda key: ranges[key][1] - ranges[key][0])
        low, high = ranges[cell]
        values = [
            v for v in range(low, high + 1) if cell not in gapped or v not in SMALL
        ]
        for value in sorted(values, key=lambda v: abs(v - counts[cell])):
            found = solve({**ranges, cell: (value, value)})
            if found is not None:
                return found
        return None

    feasible: dict[Key, set[int]] = {key: set() for key in hidden}
    truth = solve({**start, **{key: (counts[key], counts[key]) for key in hidden}})
    if truth is not None:
        for key in hidden:
            feasible[key].add(truth[key])
    for key in hidden:
        if len(feasible[key]) > 1:
            continue
        low, high = start[key]
        others = sorted(
            (
                v
                for v in range(low, high + 1)
                if v != counts[key] and (key not in gapped or v not in SMALL)
            ),
            key=lambda v: abs(v - counts[key]),
        )
        for value in others:
            found = solve({**start, key: (value, value)})
            if found is not None:
                for cell in hidden:
                    feasible[cell].add(found[cell])
                break
    return feasible


def hierarchy(
    leaves: Mapping[tuple[int, int], Sequence[int]],
) -> tuple[dict[Key, int], list[Equation]]:
    """A union of sectors of workplaces, each with its answer counts per category:
    group totals add up the hierarchy, and every group's categories add up to it."""
    counts: dict[Key, int] = {}
    equations: list[Equation] = []
    categories = range(len(next(iter(leaves.values()))))
    sectors = sorted({sector for sector, _ in leaves})
    groups: list[tuple[Key, list[Key]]] = [("union", [("sector", s) for s in sectors])]
    for sector in sectors:
        workplaces = [("workplace", s, w) for s, w in sorted(leaves) if s == sector]
        groups.append((("sector", sector), workplaces))
    for (sector, workplace), answers in leaves.items():
        group = ("workplace", sector, workplace)
        for category, value in zip(categories, answers, strict=True):
            counts[(group, category)] = value
        counts[group] = sum(answers)
        groups.append((group, []))
    for group, children in reversed(groups):
        if children:
            for category in categories:
                counts[(group, category)] = sum(
                    counts[(child, category)] for child in children
                )
                equations.append(
                    Equation(
                        (group, category),
                        tuple((child, category) for child in children),
                    )
                )
            counts[group] = sum(counts[child] for child in children)
            equations.append(Equation(group, tuple(children)))
        equations.append(
            Equation(group, tuple((group, category) for category in categories))
        )
    return counts, equations


def assert_protected(
    counts: Mapping[Key, int],
    equations: Sequence[Equation],
    statuses: Mapping[Key, Status],
) -> None:
    assert set(statuses) == set(counts)
    for key, status in statuses.items():
        if status is Status.SHOWN:
            assert counts[key] not in SMALL, key
        else:
            assert counts[key] not in SMALL or status in (
                Status.FEWER_THAN_MIN,
                Status.HIDDEN,
            )
        if status is Status.FEWER_THAN_MIN:
            assert counts[key] in SMALL, key
    for key, values in feasible_values(counts, equations, statuses).items():
        assert counts[key] in values, key
        # Small counts must stay uncertain; the other hidden cells hold counts that
        # could have been shown, hidden only to protect the small ones.
        if counts[key] in SMALL:
            assert len(values) > 1, (key, values)


FIELDS = [field.name for field in dataclasses.fields(Rules)]


def test_rules_accept_stricter_settings():
    rules = Rules.from_settings(
        {
            "min_count": 11,
            "min_median_group": 20,
            "min_quartile_group": 30,
            "homogeneity_percent": 80,
            "min_group_difference": 20,
            "rounding_cents": 50,
            "epsilon_per_release": 0.5,
            "epsilon_per_year": 2,
            "min_noisy_sector": 200,
        }
    )
    assert rules == Rules(11, 20, 30, 80, 20, 50, 0.5, 2, 200)
    assert Rules.from_settings({}) == DEFAULT_RULES


CEILINGS = {"homogeneity_percent", "epsilon_per_release", "epsilon_per_year"}


@pytest.mark.parametrize("name", FIELDS)
def test_rules_refuse_each_looser_setting(name):
    default = getattr(DEFAULT_RULES, name)
    looser = default + 1 if name in CEILINGS else default - 1
    with pytest.raises(ValueError, match=name):
        Rules.from_settings({name: looser})


@pytest.mark.parametrize(
    "settings",
    [
        {"epsilon_per_release": 0},
        {"epsilon_per_year": -1},
        {"epsilon_per_release": True},
    ],
)
def test_an_epsilon_must_be_a_positive_number(settings):
    with pytest.raises((ValueError, TypeError), match="epsilon"):
        Rules.from_settings(settings)


def test_one_release_may_not_spend_more_than_a_year_allows():
    with pytest.raises(ValueError, match="epsilon_per_release"):
        Rules.from_settings({"epsilon_per_release": 1.0, "epsilon_per_year": 0.5})


def test_rules_refuse_an_unknown_setting():
    with pytest.raises(ValueError, match="min_cout"):
        Rules.from_settings({"min_cout": 5})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, Status.SHOWN),
        (1, Status.FEWER_THAN_MIN),
        (2, Status.FEWER_THAN_MIN),
        (4, Status.FEWER_THAN_MIN),
        (5, Status.SHOWN),
        (40, Status.SHOWN),
    ],
)
def test_only_counts_from_one_to_four_are_primary(value, expected):
    assert protect_counts({"cell": value}, []) == {"cell": expected}


def test_a_raised_minimum_count_hides_more():
    rules = Rules(min_count=11)
    assert protect_counts({"cell": 10}, [], rules) == {"cell": Status.FEWER_THAN_MIN}


def test_one_small_cell_and_a_total_hide_the_smallest_other_cell():
    counts = {"a": 3, "b": 10, "c": 20, "total": 33}
    equations = [Equation("total", ("a", "b", "c"))]
    statuses = protect_counts(counts, equations)
    assert statuses == {
        "a": Status.FEWER_THAN_MIN,
        "b": Status.HIDDEN,
        "c": Status.SHOWN,
        "total": Status.SHOWN,
    }
    assert_protected(counts, equations, statuses)


def test_a_small_workplace_is_protected_at_every_level():
    counts = {
        "union": 44,
        "sector 1": 3,
        "sector 2": 41,
        "workplace 1": 3,
        "workplace 2": 0,
        "workplace 3": 15,
        "workplace 4": 26,
    }
    equations = [
        Equation("union", ("sector 1", "sector 2")),
        Equation("sector 1", ("workplace 1", "workplace 2")),
        Equation("sector 2", ("workplace 3", "workplace 4")),
    ]
    statuses = protect_counts(counts, equations)
    assert statuses["workplace 1"] is Status.FEWER_THAN_MIN
    assert statuses["sector 1"] is Status.FEWER_THAN_MIN
    # union - sector 2 would give sector 1 (and so workplace 1) away.
    assert Status.HIDDEN in {statuses["union"], statuses["sector 2"]}
    assert_protected(counts, equations, statuses)


def test_four_single_respondents_do_not_give_their_sector_away():
    counts = {"sector": 4, "w1": 1, "w2": 1, "w3": 1, "w4": 1}
    equations = [Equation("sector", ("w1", "w2", "w3", "w4"))]
    statuses = protect_counts(counts, equations)
    assert_protected(counts, equations, statuses)


def test_the_verifier_catches_a_recoverable_cell():
    counts = {"a": 3, "b": 10, "total": 13}
    equations = [Equation("total", ("a", "b"))]
    statuses = {"a": Status.FEWER_THAN_MIN, "b": Status.SHOWN, "total": Status.SHOWN}
    assert feasible_values(counts, equations, statuses) == {"a": {3}}


def test_protection_is_deterministic():
    counts, equations = hierarchy({(0, 0): [2, 9], (0, 1): [7, 8], (1, 0): [12, 6]})
    first = protect_counts(counts, equations)
    shuffled = dict(reversed(list(counts.items())))
    assert protect_counts(shuffled, list(reversed(equations))) == first


def test_counts_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="add up"):
        protect_counts({"a": 3, "total": 4}, [Equation("total", ("a",))])


tables = st.integers(1, 2).flatmap(
    lambda sectors: st.integers(1, 3).flatmap(
        lambda workplaces: st.integers(2, 3).flatmap(
            lambda categories: st.fixed_dictionaries(
                {
                    (s, w): st.lists(
                        st.one_of(st.integers(0, 6), st.integers(0, 30)),
                        min_size=categories,
                        max_size=categories,
                    )
                    for s in range(sectors)
                    for w in range(workplaces)
                }
            )
        )
    )
)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_no_hidden_cell_can_be_recovered_from_the_margins(leaves):
    counts, equations = hierarchy(leaves)
    statuses = protect_counts(counts, equations)
    assert_protected(counts, equations, statuses)


def test_homogeneity_at_ninety_percent():
    assert homogeneous([18, 2])
    assert not homogeneous([17, 3])
    assert not homogeneous([0, 0])
    assert not homogeneous([])
    assert homogeneous([17, 3], Rules(homogeneity_percent=85))


def test_no_median_under_ten_values():
    assert quantiles([2000] * 9) is None
    assert quantiles([2000] * 10) == Quantiles(10, 2000, None, None)


@pytest.mark.parametrize(
    ("middle", "median"),
    [
        ((2010, 2015), 2025),
        ((2010, 2014), 2000),
        ((2012, 2013), 2025),
        ((2037, 2037), 2025),
    ],
)
def test_the_median_is_rounded_to_a_quarter_half_up(middle, median):
    values = [1500] * 4 + list(middle) + [3000] * 4
    result = quantiles(values)
    assert result is not None
    assert result.median_cents == median


def test_quartiles_from_twenty_values():
    values = [100 * n for n in range(1, 21)]
    assert quantiles(values[:19], Rules()) == Quantiles(19, 1000, None, None)
    assert quantiles(values) == Quantiles(20, 1050, 550, 1550)


def test_quartiles_leave_the_median_out_of_both_halves():
    values = [100 * n for n in range(1, 22)]
    assert quantiles(values) == Quantiles(21, 1100, 550, 1650)


def test_a_quantile_result_carries_no_other_statistic():
    assert [field.name for field in dataclasses.fields(Quantiles)] == [
        "respondents",
        "median_cents",
        "lower_quartile_cents",
        "upper_quartile_cents",
    ]


@given(st.lists(st.integers(1000, 6000), min_size=10, max_size=60))
def test_quantiles_stay_within_the_rounded_range(values):
    result = quantiles(values)
    assert result is not None
    assert result.respondents == len(values)
    assert min(values) // 25 * 25 <= result.median_cents <= -(-max(values) // 25) * 25
    assert result.median_cents % 25 == 0
    if len(values) >= 20:
        assert result.lower_quartile_cents is not None
        assert result.upper_quartile_cents is not None
        assert (
            result.lower_quartile_cents
            <= result.median_cents
            <= result.upper_quartile_cents
        )
    else:
        assert result.lower_quartile_cents is None


def figure(key: str, members: range | set[int], priority: int = 0) -> Figure:
    return Figure(key, frozenset(members), priority)


def test_a_group_minus_one_person_is_withheld():
    group = figure("workplace", range(12), priority=0)
    less_one = figure("workplace, peers", range(11), priority=1)
    assert protect_overlaps([less_one, group], {}) == {"workplace, peers"}


def test_groups_ten_apart_are_both_published():
    assert (
        protect_overlaps([figure("a", range(20)), figure("b", range(10))], {}) == set()
    )


def test_nine_apart_in_a_symmetric_difference_is_withheld():
    swapped = figure("b", set(range(5, 20)) | {100, 101, 102, 103}, priority=1)
    assert protect_overlaps([figure("a", range(20)), swapped], {}) == {"b"}


def test_disjoint_groups_are_both_published():
    figures = [figure("a", range(12)), figure("b", range(100, 111))]
    assert protect_overlaps(figures, {}) == set()


def test_the_same_group_twice_is_not_a_difference():
    assert (
        protect_overlaps([figure("a", range(12)), figure("b", range(12))], {}) == set()
    )


def test_a_group_that_changed_by_a_few_since_last_round_is_withheld():
    assert protect_overlaps([figure("a", range(11))], {"a": [12]}) == {"a"}
    assert protect_overlaps([figure("a", range(22))], {"a": [12]}) == set()
    assert protect_overlaps([figure("a", range(12))], {"a": [12]}) == set()
    assert protect_overlaps([figure("a", range(11))], {"b": [12]}) == set()


def test_a_withheld_figure_does_not_block_another():
    figures = [
        figure("a", range(15), priority=0),
        figure("b", range(14), priority=1),
        figure("c", range(13), priority=2),
    ]
    assert protect_overlaps(figures, {}) == {"b", "c"}
    assert protect_overlaps(figures, {"a": [14]}) == {"a", "c"}


figure_sets = st.lists(
    st.tuples(
        st.frozensets(st.integers(0, 40), min_size=1, max_size=35), st.integers(0, 3)
    ),
    max_size=25,
)


@given(figure_sets)
def test_no_two_published_figures_differ_by_a_few_people(raw):
    figures = [
        Figure(("figure", n), members, priority)
        for n, (members, priority) in enumerate(raw)
    ]
    withheld = protect_overlaps(figures, {})
    published = [f for f in figures if f.key not in withheld]
    for first in published:
        for second in published:
            assert len(first.members ^ second.members) not in range(1, 10)
    order = sorted(figures, key=lambda f: (f.priority, repr(f.key)))
    for position, candidate in enumerate(order):
        if candidate.key in withheld:
            assert any(
                len(candidate.members ^ earlier.members) in range(1, 10)
                for earlier in order[:position]
                if earlier.key not in withheld
            )


@given(
    figure_sets,
    st.lists(st.integers(1, 6), min_size=41, max_size=41),
    st.dictionaries(st.integers(0, 24), st.integers(1, 120), max_size=5),
)
def test_weighted_cells_decide_as_the_people_in_them_would(raw, weights, previous):
    """A figure made of cells, each weighing its people, is withheld exactly when
    the same figure listing every person would be."""
    by_cells = [
        Figure(("figure", n), members, priority)
        for n, (members, priority) in enumerate(raw)
    ]
    people_of = {
        cell: range(sum(weights[:cell]), sum(weights[: cell + 1]))
        for cell in range(len(weights))
    }
    by_people = [
        Figure(
            figure.key,
            frozenset(person for cell in figure.members for person in people_of[cell]),
            figure.priority,
        )
        for figure in by_cells
    ]
    sizes = {("figure", n): [size] for n, size in previous.items()}
    assert protect_overlaps(by_cells, sizes, weights=weights) == protect_overlaps(
        by_people, sizes
    )


@pytest.mark.parametrize(
    ("count", "band"),
    [
        (0, (0, 0)),
        (1, (1, 4)),
        (4, (1, 4)),
        (5, (5, 9)),
        (9, (5, 9)),
        (10, (10, 19)),
        (49, (20, 49)),
        (50, (50, 99)),
        (1999, (1000, 1999)),
        (200_000, (200_000, 499_999)),
    ],
)
def test_an_open_rounds_count_is_shown_in_bands(count, band):
    assert count_band(count) == band


def test_the_first_band_follows_the_minimum_count():
    rules = Rules(min_count=12)
    assert [count_band(n, rules) for n in (11, 12, 19, 20)] == [
        (1, 11),
        (12, 19),
        (12, 19),
        (20, 49),
    ]


@given(st.integers(0, 10**7))
def test_every_count_is_in_its_band_and_bands_follow_each_other(count):
    low, high = count_band(count)
    assert low <= count <= high
    if count:
        assert count_band(low - 1)[1] == low - 1
        assert count_band(high + 1)[0] == high + 1
