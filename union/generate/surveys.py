"""Survey rounds: one a quarter over the years of history, the last still open, with
anonymous answers and receipts bulk loaded; the closed rounds are then closed by
the app itself, so their stored reports are exactly what it would have made.

The open round's answers are sealed with its key, as the app seals them when members
answer (services.survey): the generated database holds them as a real one would.
The rounds closed afterwards are loaded in the clear, which closing reorders just
the same; sealing them first would only make generating slower.

open_round is a section of its own for benchmarks/close_round.py: one large open
round and no members, run instead of the others."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from itertools import accumulate

from union import clock
from union.adapters.bulk import table
from union.clock import month_start
from union.generate import Context
from union.models import (
    EmploymentType,
    RoundStatus,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRound,
    SurveyRoundKey,
    YesNoUnsure,
    sealed_answers,
)
from union.services import survey

#: One round every three months.
MONTHS_APART = 3
ROUND_WEEKS = 6
ANSWER_COLUMNS = (
    "id",
    "round_id",
    "workplace_id",
    "classification_id",
    "employment_type",
    "hourly_wage_cents",
    "weekly_hours",
    "health_benefits",
    "dental_benefits",
    "paid_sick_days",
    "vacation_days",
    "months_since_raise",
    "never_had_raise",
    "grant_funded",
    "relies_on_social_assistance",
    "discrimination_lived_experience",
)


class _MemberAnswers:
    """The answers of members who took part: at their own workplace and a job it
    lists, wages around the workplace's own level, one answer in ten skipping the
    questions about pay and benefits."""

    def __init__(self, context: Context) -> None:
        self.rng = context.rng
        self.jobs_at = context.classification_ids_by_workplace
        self.wage_by_workplace = {
            w: self.rng.randrange(1900, 3200) for w in context.workplace_ids
        }

    def answer(self, round_id: int, workplace_id: int) -> tuple[object, ...]:
        """Values in ANSWER_COLUMNS order."""
        rng = self.rng
        never = rng.random() < 0.15
        skip = rng.random() < 0.1
        return (
            f"{rng.getrandbits(128):032x}",
            round_id,
            workplace_id,
            rng.choice(self.jobs_at[workplace_id]),
            None if skip else rng.choice(list(EmploymentType)),
            None
            if skip
            else self.wage_by_workplace[workplace_id] + rng.randrange(-300, 600, 5),
            None if skip else rng.choice((20, 24, 30, 35, 37, 40)),
            None if skip else rng.random() < 0.55,
            None if skip else rng.random() < 0.4,
            rng.choice((0, 0, 3, 5, 10)),
            rng.choice((0, 10, 15, 20)),
            None if never else rng.randint(1, 48),
            never,
            rng.choice(list(YesNoUnsure)),
            rng.random() < 0.2,
            None if skip else rng.random() < 0.3,
        )


def rounds(context: Context) -> None:
    scale = context.scale
    if scale.survey_rounds == 0 or scale.survey_answers == 0:
        return
    rng, writer = context.rng, context.writer
    first = context.this_month - MONTHS_APART * (scale.survey_rounds - 1)
    per_round = scale.survey_answers // scale.survey_rounds
    jobs_at = context.classification_ids_by_workplace
    maker = _MemberAnswers(context)
    made: list[tuple[int, int]] = []
    for number, round_id in enumerate(
        writer.ids(table(SurveyRound), scale.survey_rounds)
    ):
        month = first + MONTHS_APART * number
        _open(context, round_id, month)
        members = [
            m
            for m in context.members
            if m.joined <= month
            and (m.left is None or m.left > month)
            and jobs_at.get(m.workplace_id)
        ]
        chosen = rng.sample(members, min(per_round, len(members)))
        writer.write(
            table(SurveyReceipt),
            ("round_id", "member_id"),
            ((round_id, m.id) for m in chosen),
        )
        answers = (maker.answer(round_id, m.workplace_id) for m in chosen)
        if number == scale.survey_rounds - 1:
            _write_sealed(context, round_id, answers)
        else:
            writer.write(table(SurveyAnswer), ANSWER_COLUMNS, answers)
        made.append((round_id, month))
        context.progress("survey", number + 1, scale.survey_rounds)
    # The app closes them through the session, which shares the writer's
    # connection: sequences first, so its own rows (audit, artifacts) get new ids.
    writer.finish()
    for round_id, month in made[:-1]:
        survey_round = survey.get_round(round_id)
        closing = clock.start_of_day(month_start(month) + timedelta(weeks=ROUND_WEEKS))
        survey.close_round(survey_round, actor=None, now=closing)


class _SkewedAnswers:
    """Anonymous answers as a large round gets them, with many small groups, which
    are what the disclosure control works hardest on: answers per workplace are
    log-normal (many workplaces under ten, a few agencies with hundreds), most at
    the workplace's first-listed jobs but some at a job it does not list, wages set
    by the job and the workplace, and every question left blank now and then."""

    def __init__(self, context: Context) -> None:
        rng = self.rng = context.rng
        self.workplaces = context.workplace_ids
        self.jobs_at = context.classification_ids_by_workplace
        self.jobs = sorted({job for jobs in self.jobs_at.values() for job in jobs})
        self.cumulative = list(
            accumulate(rng.lognormvariate(0.0, 1.3) for _ in self.workplaces)
        )
        self.base_wage = {job: rng.randrange(2000, 3400, 25) for job in self.jobs}
        self.offset = {w: round(rng.gauss(0, 220)) for w in self.workplaces}

    def answer(self, round_id: int) -> tuple[object, ...]:
        """Values in ANSWER_COLUMNS order."""
        rng, maybe = self.rng, self._maybe
        workplace_id = rng.choices(self.workplaces, cum_weights=self.cumulative)[0]
        job = self._job(workplace_id)
        wage = self._wage(workplace_id, job)
        never = rng.random() < 0.09
        months = None if never else maybe(min(120, int(rng.expovariate(1 / 14))), 0.08)
        return (
            f"{rng.getrandbits(128):032x}",
            round_id,
            workplace_id,
            job,
            maybe(rng.choices(list(EmploymentType), weights=(45, 20, 25, 10))[0], 0.05),
            maybe(wage, 0.08),
            maybe(rng.randint(8, 45), 0.06),
            maybe(rng.random() < 0.45, 0.07),
            maybe(rng.random() < 0.3, 0.09),
            maybe(0 if rng.random() < 0.3 else rng.randint(1, 15), 0.1),
            maybe(0 if rng.random() < 0.15 else rng.randint(5, 25), 0.1),
            months,
            True if never else maybe(False, 0.02),
            maybe(rng.choices(list(YesNoUnsure), weights=(40, 25, 35))[0], 0.1),
            maybe(rng.random() < 0.12, 0.15),
            maybe(rng.random() < 0.35, 0.2),
        )

    def _job(self, workplace_id: int) -> int:
        rng = self.rng
        listed = self.jobs_at[workplace_id]
        if rng.random() < 0.92:
            return rng.choices(listed, weights=range(len(listed), 0, -1))[0]
        return rng.choice(self.jobs)

    def _wage(self, workplace_id: int, job: int) -> int:
        rng = self.rng
        wage = (
            self.base_wage[job] + self.offset[workplace_id] + round(rng.gauss(0, 260))
        )
        if rng.random() < 0.6:
            # Most people give a round figure.
            wage = round(wage / 25) * 25
        return min(4500, max(1800, wage))

    def _maybe(self, value: object, blank: float) -> object:
        return None if self.rng.random() < blank else value


def open_round(context: Context) -> None:
    """One round opened this month with all of the scale's survey answers and no
    receipts: the round benchmarks/close_round.py closes, which needs no members."""
    scale, writer = context.scale, context.writer
    if scale.survey_answers == 0:
        return
    maker = _SkewedAnswers(context)
    round_id = writer.ids(table(SurveyRound), 1)[0]
    _open(context, round_id, context.this_month)
    _write_sealed(
        context,
        round_id,
        (maker.answer(round_id) for _ in range(scale.survey_answers)),
    )
    context.progress("survey", 1, 1)


def _write_sealed(
    context: Context, round_id: int, answers: Iterable[tuple[object, ...]]
) -> None:
    """An open round's key, and its answers (in ANSWER_COLUMNS order, their ids
    unused) sealed with it as survey.answer seals them."""
    key = survey.new_round_key(round_id)
    context.writer.write(
        table(SurveyRoundKey),
        ("round_id", "sealing_key"),
        [(round_id, key.sealing_key)],
    )
    raw_key = survey.round_key(key)
    names = ANSWER_COLUMNS[2:]
    boxes = (
        (
            round_id,
            survey.seal(
                survey.Answers(**dict(zip(names, answer[2:], strict=True))),  # type: ignore[arg-type]
                raw_key,
                round_id,
            ),
        )
        for answer in answers
    )
    context.writer.write(sealed_answers, ("round_id", "sealed"), boxes)


def _open(context: Context, round_id: int, month: int) -> None:
    """The round's row, named for its season, and its partitions."""
    opened_on = month_start(month)
    season = ("Winter", "Spring", "Summer", "Autumn")[(opened_on.month - 1) // 3]
    context.writer.write(
        table(SurveyRound),
        ("id", "name", "status", "opened_on", "closed_on", "respondents"),
        [
            (
                round_id,
                f"{season} {opened_on.year}",
                RoundStatus.OPEN,
                opened_on,
                None,
                None,
            )
        ],
    )
    survey.make_answer_partition(round_id)
