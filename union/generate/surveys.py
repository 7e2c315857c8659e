"""Survey rounds: one a quarter over the years of history, the last still open, with
anonymous answers and receipts bulk loaded; the closed rounds are then closed by
the app itself, so their stored reports are exactly what it would have made."""

from __future__ import annotations

from datetime import timedelta

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
    YesNoUnsure,
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


def rounds(context: Context) -> None:
    scale = context.scale
    if scale.survey_rounds == 0 or scale.survey_answers == 0:
        return
    rng, writer = context.rng, context.writer
    first = context.this_month - MONTHS_APART * (scale.survey_rounds - 1)
    per_round = scale.survey_answers // scale.survey_rounds
    jobs_at = context.classification_ids_by_workplace
    wage_by_workplace = {w: rng.randrange(1900, 3200) for w in context.workplace_ids}
    made: list[tuple[int, int]] = []
    for number, round_id in enumerate(
        writer.ids(table(SurveyRound), scale.survey_rounds)
    ):
        month = first + MONTHS_APART * number
        opened_on = month_start(month)
        writer.write(
            table(SurveyRound),
            ("id", "name", "status", "opened_on", "closed_on", "respondents"),
            [
                (
                    round_id,
                    f"{('Winter', 'Spring', 'Summer', 'Autumn')[(opened_on.month - 1) // 3]}"
                    f" {opened_on.year}",
                    RoundStatus.OPEN,
                    opened_on,
                    None,
                    None,
                )
            ],
        )
        survey.make_answer_partition(round_id)
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

        def answer(workplace_id: int, round_id: int = round_id) -> tuple[object, ...]:
            never = rng.random() < 0.15
            skip = rng.random() < 0.1
            return (
                f"{rng.getrandbits(128):032x}",
                round_id,
                workplace_id,
                rng.choice(jobs_at[workplace_id]),
                None if skip else rng.choice(list(EmploymentType)),
                None
                if skip
                else wage_by_workplace[workplace_id] + rng.randrange(-300, 600, 5),
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

        writer.write(
            table(SurveyAnswer),
            ANSWER_COLUMNS,
            (answer(m.workplace_id) for m in chosen),
        )
        made.append((round_id, month))
        context.progress("survey", number + 1, scale.survey_rounds)
    # The app closes them through the session, which shares the writer's
    # connection: sequences first, so its own rows (audit, artifacts) get new ids.
    writer.finish()
    for round_id, month in made[:-1]:
        survey_round = survey.get_round(round_id)
        closing = clock.start_of_day(month_start(month) + timedelta(weeks=ROUND_WEEKS))
        survey.close_round(survey_round, actor=None, now=closing)
