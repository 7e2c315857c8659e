"""Load scenarios for `make bench` (run by benchmarks/run.py, not by hand).

BENCH_SCENARIO names one endpoint, driven alone by BENCH_USERS users with no pause,
or "mixed": all of them together, a few users per role, at BENCH_RATE requests a
second per user. Users sign in first, through the login form, as accounts from the
plan run.py writes (BENCH_PLAN). Once every user is in, BENCH_WARMUP seconds pass,
then BENCH_MEASURE seconds are measured and the run stops. Every request's exact
latency goes to BENCH_SAMPLES with the measured window (locust's own percentiles
are rounded), sign-ins excluded.

Adding a page to the benchmark: one function below, one line in REQUESTS and
one in benchmarks/mix.py (its role and weight in the mixed scenario).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import stripe
from locust import FastHttpUser, between, constant, constant_throughput, events
from locust.env import Environment
from mix import MIX, USERS_BY_ROLE, in_the_mix

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_PLAN"]).read_text())
SCENARIO = os.environ["BENCH_SCENARIO"]
RATE = float(os.environ.get("BENCH_RATE", "0"))
USERS = int(os.environ["BENCH_USERS"])
WARMUP = float(os.environ["BENCH_WARMUP"])
MEASURE = float(os.environ["BENCH_MEASURE"])
SAMPLES: list[tuple[float, float, str, bool]] = []
#: When each user finished signing in, and the measured window.
READY: list[float] = []
WINDOW: dict[str, float] = {}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@events.request.add_listener
def _sample(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: BaseException | None = None,
    **_kwargs: Any,
) -> None:
    if name != "sign in":
        SAMPLES.append((time.time(), response_time, name, exception is None))


@events.test_start.add_listener
def _time_the_run(environment: Environment, **_kwargs: Any) -> None:
    def measure() -> None:
        while len(READY) < USERS:
            gevent.sleep(0.1)
        WINDOW["start"] = time.time() + WARMUP
        gevent.sleep(WARMUP + MEASURE)
        WINDOW["end"] = time.time()
        if environment.runner is not None:
            environment.runner.quit()

    gevent.spawn(measure)


@events.quitting.add_listener
def _write_samples(**_kwargs: Any) -> None:
    Path(os.environ["BENCH_SAMPLES"]).write_text(
        json.dumps({"window": WINDOW, "samples": SAMPLES})
    )


class BenchUser(FastHttpUser):
    abstract = True
    role = ""
    account: dict[str, Any]

    def on_start(self) -> None:
        self.account = random.choice(PLAN["accounts"][self.role])
        if self.role != "webhook":
            self.sign_in()
        READY.append(time.time())

    def sign_in(self) -> None:
        page = self.client.get("/login", name="sign in")
        token = CSRF.search(page.text or "")
        assert token, "no CSRF token on /login"
        response = self.client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "email": self.account["email"],
                "password": PLAN["password"],
            },
            name="sign in",
            allow_redirects=False,
        )
        assert response.status_code == 302, (
            f"sign-in failed for {self.account['email']}"
        )

    def page(self, url: str, name: str, expect: str | None = None) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif expect is not None and expect not in (response.text or ""):
                response.failure(f"{expect!r} not on the page")


def bare_flask(user: BenchUser) -> None:
    user.page("/bare/", "bare flask", "The bare app is up.")


def floor(user: BenchUser) -> None:
    user.page("/floor", "floor", "The app is up.")


def dues(user: BenchUser) -> None:
    user.page("/dues", "dues page")


def steward_dashboard(user: BenchUser) -> None:
    user.page("/grievances/", "steward dashboard")


def steward_home(user: BenchUser) -> None:
    """The home page's counts of what waits in the steward's workplaces."""
    user.page("/", "steward home")


def applicants(user: BenchUser) -> None:
    user.page("/members/applicants", "applicants")


def raise_form(user: BenchUser) -> None:
    """The form a member raises a problem with, naming their stewards."""
    user.page("/grievances/raise", "raise a problem")


def notifications(user: BenchUser) -> None:
    """What is new for a member, newest first."""
    user.page("/notifications", "notifications")


def call_list(user: BenchUser) -> None:
    """Members of the steward's workplaces to tell in person."""
    user.page("/call-list", "call list")


def messages_list(user: BenchUser) -> None:
    user.page("/messages/", "messages")


def compose_message(user: BenchUser) -> None:
    """The form with its groups: every workplace the organizer may address."""
    user.page("/messages/new", "write a message")


def dues_levels(user: BenchUser) -> None:
    """Each level's amounts and their Stripe state."""
    user.page("/treasurer/levels", "dues levels")


def roster_search(user: BenchUser) -> None:
    term = random.choice(PLAN["search_terms"])
    user.page(f"/members/?q={term}", "roster search")


def grievance(user: BenchUser) -> None:
    case = random.choice(user.account["grievances"])
    user.page(f"/grievances/{case}", "grievance page")


def arrears(user: BenchUser) -> None:
    user.page(f"/treasurer/arrears?page={random.randint(1, 5)}", "arrears list")


def case_search(user: BenchUser) -> None:
    """Cases found by a word of their title or by a grievant's name."""
    term = random.choice(PLAN["case_search_terms"])
    user.page(f"/grievances/cases?q={term}", "case search")


def ledger(user: BenchUser) -> None:
    """A month of the ledger, a page of it in one of its orders, with the month's
    totals (the whole ledger's totals add up every payment ever made)."""
    month = random.choice(PLAN["delegate_months"])["month"]
    order = random.choice(("-date", "member", "-amount"))
    user.page(
        f"/treasurer/ledger?from_month={month}&to_month={month}&sort={order}"
        f"&page={random.randint(1, 5)}",
        "ledger page",
        "in all.",
    )


def treasury(user: BenchUser) -> None:
    """The treasurer's first page: this month's money, a year of months by
    method, who is behind and the waivers to decide."""
    user.page("/treasurer/", "treasury", "Dues received each month")


def whole_ledger(user: BenchUser) -> None:
    """The ledger as it first opens: every payment ever made, newest first, with
    what they all add up to."""
    user.page("/treasurer/ledger", "whole ledger", "in all.")


def member_dues(user: BenchUser) -> None:
    """One member's dues as the treasurer reads them, from the arrears list."""
    member = random.choice(PLAN["members_behind"])
    user.page(f"/treasurer/members/{member}", "member dues")


def arrears_csv(user: BenchUser) -> None:
    user.page(
        "/treasurer/arrears.csv?behind=1&sort=member",
        "arrears csv",
        "member_number,months_owed",
    )


def organizer_report(user: BenchUser) -> None:
    user.page("/grievances/counts", "organizer report")


def survey_report(user: BenchUser) -> None:
    """A report of the last closed survey round, at any level, as stored."""
    user.page(
        random.choice(PLAN["survey_reports"]), "survey report", "Report check code"
    )


def csv_export(user: BenchUser) -> None:
    delegate = random.choice(PLAN["delegate_months"])
    user.page(
        f"/treasurer/ledger.csv?delegate={delegate['delegate']}"
        f"&from_month={delegate['month']}&to_month={delegate['month']}",
        "csv export",
        "paid_on,member_number",
    )


def webhook(user: BenchUser) -> None:
    """A signed invoice.paid for a card member: one more month in the ledger."""
    member = random.choice(PLAN["card_members"])
    now = int(time.time())
    serial = uuid.uuid4().hex
    event = {
        "id": f"evt_bench_{serial}",
        "object": "event",
        "type": "invoice.paid",
        "created": now,
        "livemode": False,
        "data": {
            "object": {
                "id": f"in_bench_{serial}",
                "object": "invoice",
                "customer": member["customer"],
                "status": "paid",
                "amount_paid": member["cents"],
                "created": now,
                "status_transitions": {"paid_at": now},
                "parent": {
                    "subscription_details": {
                        "subscription": member["subscription"],
                        "metadata": {},
                    }
                },
                "lines": {
                    "data": [{"amount": member["cents"], "type": "subscription"}]
                },
                "payments": {
                    "data": [{"payment": {"payment_intent": f"pi_bench_{serial}"}}]
                },
            }
        },
    }
    body = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(
        body, PLAN["webhook_secret"]
    )
    with user.client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        name="webhook",
        catch_response=True,
    ) as response:
        outcome = (response.json() or {}).get("outcome") if response.text else None
        if response.status_code != 200 or outcome != "processed":
            response.failure(f"status {response.status_code}, outcome {outcome}")


#: What each endpoint of benchmarks/mix.py requests.
REQUESTS: dict[str, Callable[[BenchUser], None]] = {
    "bare flask": bare_flask,
    "floor": floor,
    "dues page": dues,
    "steward dashboard": steward_dashboard,
    "steward home": steward_home,
    "applicants": applicants,
    "raise a problem": raise_form,
    "notifications": notifications,
    "call list": call_list,
    "messages": messages_list,
    "write a message": compose_message,
    "dues levels": dues_levels,
    "roster search": roster_search,
    "grievance page": grievance,
    "case search": case_search,
    "arrears list": arrears,
    "ledger page": ledger,
    "whole ledger": whole_ledger,
    "treasury": treasury,
    "member dues": member_dues,
    "organizer report": organizer_report,
    "survey report": survey_report,
    "csv export": csv_export,
    "arrears csv": arrears_csv,
    "webhook": webhook,
}
assert set(REQUESTS) == set(MIX), "benchmarks/mix.py and REQUESTS list different pages"


def _user_class(
    role: str, chosen: dict[str, int], wait: Any, count: int
) -> type[BenchUser]:
    tasks = {REQUESTS[name]: weight for name, weight in chosen.items()}
    return type(
        f"{role.title()}User",
        (BenchUser,),
        {"role": role, "tasks": tasks, "wait_time": wait, "fixed_count": count},
    )


if SCENARIO == "mixed":
    _wait = constant_throughput(RATE) if RATE > 0 else between(0.5, 1.5)
    for _role, _count in USERS_BY_ROLE.items():
        _weights = {
            name: weight
            for name, (role, weight) in MIX.items()
            if role == _role and in_the_mix(name)
        }
        globals()[f"{_role.title()}User"] = _user_class(_role, _weights, _wait, _count)
else:
    ScenarioUser = _user_class(MIX[SCENARIO][0], {SCENARIO: 1}, constant(0), USERS)
