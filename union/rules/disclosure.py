"""Statistical disclosure control for the anonymized survey reports.

Pure functions over numbers and opaque ids: which counts may be shown, whether a
distribution is too uniform to show, which wage quantiles may be shown, and which
wage figures would let a reader find someone's answer by subtracting two of them.
It returns statuses only; callers decide how to word them.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class Rules:
    """Disclosure thresholds and the privacy budget. Defaults are the loosest
    allowed: configuration may only make them stricter (raise a minimum, lower
    the homogeneity share or an epsilon)."""

    min_count: int = 5
    min_median_group: int = 10
    min_quartile_group: int = 20
    homogeneity_percent: int = 90
    min_group_difference: int = 10
    rounding_cents: int = 25
    #: Differential privacy for the sensitive answers: the epsilon of one noisy
    #: release of one question (the most it can tell about any member's answer),
    #: and the most all releases may spend on any member over 365 days.
    epsilon_per_release: float = 1.0
    epsilon_per_year: float = 4.0
    #: A sector gets a noisy release of its own only with this many answers (see
    #: services/reports/noisy.py for the arithmetic); smaller sectors count in the
    #: union-wide one.
    min_noisy_sector: int = 100

    def __post_init__(self) -> None:
        # Checked on construction, not only in from_settings, so that no code path can
        # build looser rules than the published policy.
        for field in fields(self):
            value = getattr(self, field.name)
            limit = field.default
            if field.name in _CEILINGS:
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise TypeError(f"{field.name} must be a number")
                if not 0 < value <= limit:  # type: ignore[operator]
                    raise ValueError(
                        f"{field.name} must be above 0 and at most {limit}"
                    )
            elif not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{field.name} must be an integer")
            elif value < limit:  # type: ignore[operator]
                raise ValueError(f"{field.name} may not be lower than {limit}")
        if self.epsilon_per_release > self.epsilon_per_year:
            raise ValueError("epsilon_per_release may not be above epsilon_per_year")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Rules:
        """Keys are the field names; any value looser than the default (lower for
        a minimum or rounding_cents, higher for homogeneity_percent or an epsilon)
        raises ValueError naming the field."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown disclosure settings: {', '.join(unknown)}")
        return cls(**settings)


#: Rules whose defaults are ceilings: configuration may only lower them.
_CEILINGS = frozenset(
    {"homogeneity_percent", "epsilon_per_release", "epsilon_per_year"}
)

DEFAULT_RULES = Rules()


class Status(enum.StrEnum):
    SHOWN = "shown"
    FEWER_THAN_MIN = "fewer_than_min"
    HIDDEN = "hidden"


#: Any hashable value names a cell; Any, because Mapping is invariant in its key
#: and callers use tuples, strings or ints.
Key: TypeAlias = Any


@dataclass(frozen=True, slots=True)
class Equation:
    """total = sum(parts): a margin that a reader could use to recover a hidden part."""

    total: Key
    parts: tuple[Key, ...]


# A search that needs more branches than this gives up and the cell counts as
# recoverable: failing safe only costs an extra suppression.
_SEARCH_BUDGET = 2_000


class _Table:
    """The equations as signed index lists, and integer searches over them.

    A reader knows each published cell exactly, a primary cell to lie in
    [1, min_count - 1] and a complementary cell in [0, largest count of the table].
    A hidden cell is safe when some assignment that satisfies every equation at
    once gives it a value other than its true one.
    """

    def __init__(
        self, counts: Mapping[Key, int], equations: Sequence[Equation], rules: Rules
    ) -> None:
        self.keys: list[Key] = sorted(counts, key=repr)
        index = {key: position for position, key in enumerate(self.keys)}
        self.values = [counts[key] for key in self.keys]
        self.rules = rules
        self.bound = max(self.values, default=0)
        #: Hidden cells a reader cannot assume to be 0 or min_count and more.
        self.ungapped: set[int] = set()
        #: Cells published elsewhere anyway, so never hidden to protect another.
        self.public: set[int] = set()
        self.equations: list[tuple[tuple[int, int], ...]] = [
            (
                (index[equation.total], 1),
                *((index[part], -1) for part in equation.parts),
            )
            # Sorted so that the result depends on the table, not on the order the
            # caller happened to list its margins in.
            for equation in sorted(equations, key=repr)
        ]
        self.equations_of: list[list[int]] = [[] for _ in self.keys]
        for number, terms in enumerate(self.equations):
            for cell, _ in terms:
                self.equations_of[cell].append(number)

    def component(self, cell: int, status: Sequence[Status]) -> list[int]:
        """Hidden cells linked to `cell` through equations; published cells are
        constants and so do not link anything."""
        seen = {cell}
        frontier = [cell]
        while frontier:
            current = frontier.pop()
            for number in self.equations_of[current]:
                for other, _ in self.equations[number]:
                    if other not in seen and status[other] is not Status.SHOWN:
                        seen.add(other)
                        frontier.append(other)
        return sorted(seen)

    def alternative(self, cell: int, status: Sequence[Status]) -> set[int] | None:
        """The cells moved off their true values by an assignment consistent with
        everything published that moves `cell`, or None when there is none (or the
        search gave up). Only the hidden cells linked to `cell` take part: published
        cells are constants, and equations elsewhere cannot constrain these."""
        component = self.component(cell, status)
        problem = _Subproblem(self, component, status)
        found = problem.alternative(component.index(cell))
        if found is None:
            return None
        return {
            c
            for c, value in zip(component, found, strict=True)
            if value != self.values[c]
        }

    def complement_candidates(self, cell: int, status: Sequence[Status]) -> list[int]:
        """Published cells that could be hidden to protect `cell`, best first: per
        equation containing it, the smallest nonzero part, then the total, then zero
        parts (a hidden zero still gives the other cells room)."""
        ordered: list[int] = []
        for number in self.equations_of[cell]:
            ordered.extend(self._published_in(number, status))
        return list(dict.fromkeys(ordered))

    def _published_in(self, number: int, status: Sequence[Status]) -> list[int]:
        terms = self.equations[number]
        total = terms[0][0]
        parts = [
            c
            for c, _ in terms[1:]
            if status[c] is Status.SHOWN and c not in self.public
        ]
        nonzero = sorted(
            (c for c in parts if self.values[c] > 0), key=self._size_then_key
        )
        zero = sorted(
            (c for c in parts if self.values[c] == 0), key=self._size_then_key
        )
        totals = (
            [total]
            if status[total] is Status.SHOWN and total not in self.public
            else []
        )
        return nonzero + totals + zero

    def _size_then_key(self, cell: int) -> tuple[int, int]:
        return self.values[cell], cell

    def nearby_candidate(self, cell: int, status: Sequence[Status]) -> int | None:
        numbers = sorted(
            {n for c in self.component(cell, status) for n in self.equations_of[c]}
        )
        for number in numbers:
            published = self._published_in(number, status)
            if published:
                return published[0]
        return None


class _Subproblem:
    """The hidden cells linked to one cell, with the equations between them, as a
    small integer problem: published cells are folded into each equation's
    constant. Searched depth first with an explicit stack, so a large component
    cannot exhaust Python's recursion.

    A reader knows each published cell exactly, a "fewer than" cell to lie in
    [1, min_count - 1] and any other hidden cell in [0, largest count] but not in
    [1, min_count - 1] (those would read "fewer than"), except a cell hidden while
    small (forced or relabelled), for which that gap says nothing.
    """

    def __init__(
        self, table: _Table, cells: list[int], status: Sequence[Status]
    ) -> None:
        self.table = table
        local = {cell: position for position, cell in enumerate(cells)}
        self.truth = [table.values[c] for c in cells]
        small = range(1, table.rules.min_count)
        self.low: list[int] = []
        self.high: list[int] = []
        self.gapped: list[bool] = []
        for cell in cells:
            if status[cell] is Status.FEWER_THAN_MIN:
                self.low.append(1)
                self.high.append(table.rules.min_count - 1)
                self.gapped.append(False)
            else:
                self.low.append(0)
                self.high.append(table.bound)
                self.gapped.append(
                    cell not in table.ungapped and table.values[cell] not in small
                )
        numbers = sorted({n for c in cells for n in table.equations_of[c]})
        #: Each equation as (constant, terms): constant + sum(sign * x) == 0.
        self.equations: list[tuple[int, list[tuple[int, int]]]] = []
        self.equations_of: list[list[int]] = [[] for _ in cells]
        for number in numbers:
            constant = 0
            terms: list[tuple[int, int]] = []
            for cell, sign in table.equations[number]:
                if cell in local:
                    terms.append((local[cell], sign))
                else:
                    constant += sign * table.values[cell]
            for position, _ in terms:
                self.equations_of[position].append(len(self.equations))
            self.equations.append((constant, terms))

    def _narrowed(self, position: int, low: int, high: int) -> tuple[int, int]:
        if self.gapped[position]:
            top = self.table.rules.min_count - 1
            if 1 <= low <= top:
                low = top + 1
            if 1 <= high <= top:
                high = 0
        return low, high

    def propagate(
        self, low: list[int], high: list[int], pending: Iterable[int]
    ) -> bool:
        """Narrow the ranges until every equation agrees; False when one cannot hold."""
        queue = list(pending)
        queued = set(queue)
        while queue:
            number = queue.pop()
            queued.discard(number)
            constant, terms = self.equations[number]
            least = constant + sum(
                low[c] if sign > 0 else -high[c] for c, sign in terms
            )
            most = constant + sum(high[c] if sign > 0 else -low[c] for c, sign in terms)
            if least > 0 or most < 0:
                return False
            for cell, sign in terms:
                term_low = low[cell] if sign > 0 else -high[cell]
                term_high = high[cell] if sign > 0 else -low[cell]
                # The other terms must cancel this one, which bounds it.
                allowed_low, allowed_high = term_high - most, term_low - least
                if sign < 0:
                    allowed_low, allowed_high = -allowed_high, -allowed_low
                new_low, new_high = self._narrowed(
                    cell, max(low[cell], allowed_low), min(high[cell], allowed_high)
                )
                if new_low > new_high:
                    return False
                if (new_low, new_high) != (low[cell], high[cell]):
                    low[cell], high[cell] = new_low, new_high
                    for other in self.equations_of[cell]:
                        if other not in queued:
                            queued.add(other)
                            queue.append(other)
        return True

    def alternative(self, position: int) -> list[int] | None:
        low, high = self.low.copy(), self.high.copy()
        if not self.propagate(low, high, range(len(self.equations))):
            return None
        true = self.truth[position]
        for side_low, side_high in (
            (low[position], true - 1),
            (true + 1, high[position]),
        ):
            side_low, side_high = self._narrowed(position, side_low, side_high)
            if side_low > side_high:
                continue
            trial_low, trial_high = low.copy(), high.copy()
            trial_low[position], trial_high[position] = side_low, side_high
            found = self._search(trial_low, trial_high, self.equations_of[position])
            if found is not None:
                return found
        return None

    def _search(
        self, low: list[int], high: list[int], pending: list[int]
    ) -> list[int] | None:
        budget = _SEARCH_BUDGET
        stack = [(low, high, pending)]
        while stack:
            budget -= 1
            if budget < 0:
                return None
            low, high, pending = stack.pop()
            if not self.propagate(low, high, pending):
                continue
            open_cells = [c for c in range(len(low)) if low[c] < high[c]]
            if not open_cells:
                return low
            cell = min(open_cells, key=lambda c: high[c] - low[c])
            true = self.truth[cell]
            if low[cell] <= true <= high[cell]:
                # Most alternatives differ from the truth in a few cells, so try
                # the true value first.
                choices = [(true, true), (low[cell], true - 1), (true + 1, high[cell])]
            else:
                middle = (low[cell] + high[cell]) // 2
                choices = [(low[cell], middle), (middle + 1, high[cell])]
            # Pushed in reverse, so the first choice is explored first.
            for choice_low, choice_high in reversed(choices):
                choice_low, choice_high = self._narrowed(cell, choice_low, choice_high)
                if choice_low > choice_high:
                    continue
                branch_low, branch_high = low.copy(), high.copy()
                branch_low[cell], branch_high[cell] = choice_low, choice_high
                stack.append((branch_low, branch_high, self.equations_of[cell]))
        return None


def _check_table(counts: Mapping[Key, int], equations: Sequence[Equation]) -> None:
    for key, value in counts.items():
        if value < 0:
            raise ValueError(f"count for {key!r} is negative")
    for equation in equations:
        cells = (equation.total, *equation.parts)
        if len(set(cells)) != len(cells):
            raise ValueError(f"{equation!r} names a cell twice")
        missing = [key for key in cells if key not in counts]
        if missing:
            raise ValueError(f"{equation!r} names cells without a count: {missing!r}")
        if counts[equation.total] != sum(counts[part] for part in equation.parts):
            raise ValueError(f"{equation!r} does not add up")


def protect_counts(
    counts: Mapping[Key, int],
    equations: Sequence[Equation],
    rules: Rules = DEFAULT_RULES,
    *,
    forced: Collection[Key] = (),
    withheld: Collection[Key] = (),
    public: Collection[Key] = (),
) -> dict[Key, Status]:
    """Status of every cell in `counts` (every key in equations must be in counts).

    Primary suppression: 1 <= value < min_count is FEWER_THAN_MIN; 0 is a true zero
    and shown. Complementary suppression then repeats until no hidden cell is pinned
    to one value by all the equations taken together (see `_Table`). For the first
    pinned cell in key order, it hides the first candidate from its equations that
    frees it (smallest nonzero published part, then the total, then zero parts; the
    first candidate when none frees it alone), else a published cell of a nearby
    equation. When every linked cell is already hidden and one is still pinned
    (say four workplaces of one respondent each in a sector of four), only the
    bounds themselves give it away, so a primary cell is relabelled HIDDEN: that
    tells the reader nothing about its size.

    `forced` cells (a distribution where nearly everyone agreed) start HIDDEN
    whatever their value and must stay uncertain. `withheld` cells (a group too
    small to publish at all) start HIDDEN too, and must stay uncertain when small.
    A reader cannot assume either kind to be 0 or min_count and more. `public`
    cells are known anyway (how many answered the round, say): they are never
    hidden to protect another.
    """
    _check_table(counts, equations)
    table = _Table(counts, equations, rules)
    small = range(1, rules.min_count)
    # Forced cells (a distribution where nearly everyone agrees) are HIDDEN even
    # when small: "fewer than 5" beside a hidden rest would show who agreed.
    hidden_anyway = set(forced) | set(withheld)
    table.ungapped = {
        cell for cell, key in enumerate(table.keys) if key in hidden_anyway
    }
    known = set(public)
    table.public = {cell for cell, key in enumerate(table.keys) if key in known}
    status = [
        Status.HIDDEN
        if key in hidden_anyway
        else Status.FEWER_THAN_MIN
        if value in small
        else Status.SHOWN
        for key, value in zip(table.keys, table.values, strict=True)
    ]
    # Hiding a published cell only widens what a reader must consider, so a cell
    # once shown to have an alternative value keeps it. Relabelling a primary cell
    # can narrow its range (when the table's largest count is below min_count - 1),
    # so that forgets what was known.
    # Only small counts and forced cells need protecting: a complementary cell
    # holds a count that could have been published, so a reader who works it out
    # learns nothing the rules keep back.
    must_protect = set(forced)
    sensitive = {
        cell
        for cell, (key, state) in enumerate(zip(table.keys, status, strict=True))
        if state is Status.FEWER_THAN_MIN
        or key in must_protect
        or (key in hidden_anyway and table.values[cell] in small)
    }
    free: set[int] = set()
    hopeless: set[int] = set()
    to_check = sorted(sensitive)
    while True:
        pinned = _first_pinned(table, status, to_check, free, hopeless)
        if pinned is None:
            break
        chosen = _cell_to_hide(table, pinned, status)
        if chosen is None:
            hopeless.add(pinned)
            continue
        if status[chosen] is Status.FEWER_THAN_MIN:
            free.clear()
            hopeless.clear()
        status[chosen] = Status.HIDDEN
    return {table.keys[cell]: state for cell, state in enumerate(status)}


def _first_pinned(
    table: _Table,
    status: list[Status],
    cells: Sequence[int],
    free: set[int],
    hopeless: set[int],
) -> int | None:
    """The first of `cells` (still hidden, not known free) a reader could pin."""
    for cell in cells:
        if status[cell] is Status.SHOWN or cell in free or cell in hopeless:
            continue
        witness = table.alternative(cell, status)
        if witness is None:
            return cell
        free.update(witness)
    return None


#: How many published cells linked to a pinned one are tried before hiding the
#: first candidate anyway: each try is one search.
_WIDER_TRIES = 24


def _cell_to_hide(table: _Table, pinned: int, status: list[Status]) -> int | None:
    candidates = table.complement_candidates(pinned, status)
    for candidate in candidates:
        trial = status.copy()
        trial[candidate] = Status.HIDDEN
        if table.alternative(pinned, trial) is not None:
            return candidate
    # The margin that gives the cell away may be a step further (a workplace's
    # total through its sector's): try the published cells of every equation that
    # links to it, smallest first, before hiding something that does not help.
    wider = sorted(
        {
            cell
            for linked in table.component(pinned, status)
            for number in table.equations_of[linked]
            for cell in table._published_in(number, status)
        }
        - set(candidates),
        key=table._size_then_key,
    )
    for candidate in wider[:_WIDER_TRIES]:
        trial = status.copy()
        trial[candidate] = Status.HIDDEN
        if table.alternative(pinned, trial) is not None:
            return candidate
    if candidates:
        return candidates[0]
    nearby = table.nearby_candidate(pinned, status)
    if nearby is not None:
        return nearby
    if status[pinned] is Status.FEWER_THAN_MIN:
        return pinned
    primaries = [
        c for c in table.component(pinned, status) if status[c] is Status.FEWER_THAN_MIN
    ]
    return primaries[0] if primaries else None


def homogeneous(category_counts: Sequence[int], rules: Rules = DEFAULT_RULES) -> bool:
    """True when one category holds >= homogeneity_percent of the (nonzero) total:
    the whole distribution must then be suppressed. False for an all-zero one."""
    total = sum(category_counts)
    if total == 0:
        return False
    return max(category_counts) * 100 >= rules.homogeneity_percent * total


def count_band(count: int, rules: Rules = DEFAULT_RULES) -> tuple[int, int]:
    """The band (lowest, highest) a count that is still moving is shown as: 0 on
    its own, then 1 to min_count - 1 (read "fewer than 5"), then from min_count to
    the next of 10, 20, 50, 100, 200, 500 ... and so on. One more answer moves an
    open round's figure only when it crosses one of those lines."""
    if count < 0:
        raise ValueError("a count is never negative")
    if count == 0:
        return (0, 0)
    if count < rules.min_count:
        return (1, rules.min_count - 1)
    low, scale = rules.min_count, 1
    while True:
        for step in (1, 2, 5):
            edge = step * scale
            if edge > low:
                if count < edge:
                    return (low, edge - 1)
                low = edge
        scale *= 10


@dataclass(frozen=True, slots=True)
class Quantiles:
    respondents: int
    median_cents: int
    lower_quartile_cents: int | None
    upper_quartile_cents: int | None


def _twice_median(ordered: Sequence[int]) -> int:
    """Twice the median, so that the mean of two middle values stays an integer."""
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return 2 * ordered[middle]
    return ordered[middle - 1] + ordered[middle]


def _round_twice(twice_value: int, step: int) -> int:
    """Round half of `twice_value` to the nearest multiple of `step`, ties away from zero."""
    magnitude = abs(twice_value)
    steps, remainder = divmod(magnitude, 2 * step)
    if 2 * remainder >= 2 * step:
        steps += 1
    rounded = steps * step
    return rounded if twice_value >= 0 else -rounded


def quantiles(
    values_cents: Sequence[int], rules: Rules = DEFAULT_RULES
) -> Quantiles | None:
    """Median (and quartiles for large enough groups), rounded to rounding_cents.

    None when there are fewer than min_median_group values. The median is the middle
    value, or the mean of the two middle values. Quartiles use the exclusive method:
    the medians of the values below and above the median, leaving out the median
    itself when the count is odd (for 1..8, quartiles 2.5 and 6.5). Never a mean,
    minimum, maximum or sum: each would give one person's wage away by subtraction
    or outright.
    """
    count = len(values_cents)
    if count < rules.min_median_group:
        return None
    ordered = sorted(values_cents)
    step = rules.rounding_cents
    median = _round_twice(_twice_median(ordered), step)
    if count < rules.min_quartile_group:
        return Quantiles(count, median, None, None)
    half = count // 2
    lower = _round_twice(_twice_median(ordered[:half]), step)
    upper = _round_twice(_twice_median(ordered[count - half :]), step)
    return Quantiles(count, median, lower, upper)


@dataclass(frozen=True, slots=True)
class Figure:
    """A candidate median figure: key identifies it (e.g. ("wages", "workplace", 12,
    "peer_worker")), members are the opaque row ids it was computed over, priority
    orders which of two conflicting figures is kept (lower number = kept first)."""

    key: Key
    members: frozenset[int]
    priority: int


def protect_overlaps(
    figures: Sequence[Figure],
    earlier_sizes: Mapping[Key, Collection[int]],
    rules: Rules = DEFAULT_RULES,
    weights: Sequence[int] | None = None,
) -> set[Key]:
    """Keys of figures that must NOT be published.

    Across rounds, a figure is withheld when its size differs by
    1..min_group_difference-1 from any size in `earlier_sizes[key]`: every earlier
    publication of the same figure over a related group, in any round. Within the round, figures
    are taken in (priority, repr(key)) order and each is withheld when its members
    differ from an already published figure's by 1..min_group_difference-1 people
    (symmetric difference); identical groups do not conflict.

    A member may stand for several people: with `weights`, member m counts as
    weights[m] people (a cell of answers that every figure takes whole or not at
    all), which gives the same answer as listing each person, with far fewer members.

    |A △ B| = |A| + |B| - 2|A ∩ B|. Overlaps with the published figures are counted
    in one pass over the candidate's members through a member -> published figures
    index; a published figure sharing no member differs by |A| + |B|, which only
    small figures can bring under min_group_difference, and those are found through
    a size index. Time is O(F log F + sum over candidates of |members| times the
    published figures per member), memory O(sum |members|).
    """
    reach = rules.min_group_difference

    def size_of(members: frozenset[int]) -> int:
        return len(members) if weights is None else sum(weights[m] for m in members)

    withheld: set[Key] = set()
    published_sizes: list[int] = []
    by_size: dict[int, list[int]] = {}
    by_member: dict[int, list[int]] = {}
    for figure in sorted(figures, key=lambda f: (f.priority, repr(f.key))):
        size = size_of(figure.members)
        if any(1 <= abs(size - p) < reach for p in earlier_sizes.get(figure.key, ())):
            withheld.add(figure.key)
            continue
        shared: Counter[int] = Counter()
        for member in figure.members:
            weight = 1 if weights is None else weights[member]
            for number in by_member.get(member, ()):
                shared[number] += weight
        overlapping = any(
            1 <= size + published_sizes[number] - 2 * together < reach
            for number, together in shared.items()
        )
        # Disjoint groups differ by their sizes added up: only small ones can clash.
        disjoint = any(
            number not in shared
            for other_size in range(max(0, 1 - size), reach - size)
            for number in by_size.get(other_size, ())
        )
        if overlapping or disjoint:
            withheld.add(figure.key)
            continue
        number = len(published_sizes)
        published_sizes.append(size)
        by_size.setdefault(size, []).append(number)
        for member in figure.members:
            by_member.setdefault(member, []).append(number)
    return withheld


#: Money recovered is published for a group only over this many cases that
#: recovered money, and rounded, so no one person's back pay can be read off.
MONEY_MIN_CASES = 10
MONEY_ROUNDING_CENTS = 100_00


@dataclass(frozen=True, slots=True)
class ProtectedMoney:
    #: Rounded cents by key, or None where too few cases recovered money.
    by_key: dict[Key, int | None]
    #: The rounded total, or None when it would give a hidden amount away.
    total: int | None


def round_money(cents: int) -> int:
    step = MONEY_ROUNDING_CENTS
    return (cents + step // 2) // step * step


def protect_money(
    amounts: Mapping[Key, tuple[int, int]],
    *,
    withheld: Collection[Key] = (),
    total_withheld: bool = False,
) -> ProtectedMoney:
    """Amounts of money by group, each given as (cases that recovered money,
    cents). A group's amount is shown, rounded, only over MONEY_MIN_CASES cases;
    the total only when the hidden groups are none, or two or more that together
    have MONEY_MIN_CASES cases (or the total would be one hidden group's amount).

    `withheld` groups are hidden whatever their number of cases (their amount is
    too close to one published before); with any of them, or `total_withheld`,
    the total is hidden too, so that it cannot be subtracted down to them."""
    by_key: dict[Key, int | None] = {}
    hidden_cases = hidden_groups = 0
    for key, (cases, cents) in amounts.items():
        if cases >= MONEY_MIN_CASES and key not in withheld:
            by_key[key] = round_money(cents)
        else:
            by_key[key] = None
            if cases:
                hidden_cases += cases
                hidden_groups += 1
    all_cases = sum(cases for cases, _cents in amounts.values())
    total: int | None = None
    if total_withheld or any(key in withheld for key in amounts):
        return ProtectedMoney(by_key, None)
    if all_cases >= MONEY_MIN_CASES and (
        hidden_groups == 0 or (hidden_groups >= 2 and hidden_cases >= MONEY_MIN_CASES)
    ):
        total = round_money(sum(cents for _cases, cents in amounts.values()))
    return ProtectedMoney(by_key, total)
