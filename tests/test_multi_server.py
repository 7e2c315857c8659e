"""Two app servers behind a load balancer, as deploy/README.md ("More than one app
server") describes: two gunicorn servers started as the kit's systemd unit starts
them, each with the kit's environment file, sharing one PostgreSQL database, one
Redis and the S3 document store (moto's server: a folder would be one machine's),
and HAProxy (Debian's package; .ci/run installs it) in front, sending each
request to the next server in turn and checking /readyz.

Everything goes over HTTP through the balancer with a real cookie jar: a session
continues whichever server answers, sign-in failures count across both,
a document uploaded through one is read through the other, copies of the same
Stripe events split across both leave one ledger row each, and with one server
killed under load every request after the balancer notices is answered by the
other and every write that was answered is in the database.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tests import factories
from tests.conftest import (
    CSRF_FIELD,
    FIXED_NOW,
    SECRET,
    TEST_ENCRYPTION_KEY,
    config_for_tests,
    postgresql_database,
    reset_schema,
)
from tests.local_services import Accepting, free_port
from tests.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_client
from tests.stripe_peer import WEBHOOK_SECRET, event, signed
from tests.test_deploy_kit import HOST, environment_file, unit_settings
from union import create_app
from union.adapters.throttle import SIGN_IN_LIMITS
from union.db import db
from union.models import DuesPayment, Role, StripeEvent

pytestmark = pytest.mark.slow

#: Database 12 of the local Redis: the servers' throttling counters and job
#: queue, emptied before and after.
REDIS_URL = "redis://127.0.0.1:6379/12"
SERVERS = ("one", "two")
STEWARD = "steward@example.org"
CUSTOMER = "cus_test_two_servers"
#: The balancer answers within this; anything slower is a failure of the test.
TIMEOUT = 30


# The servers and the balancer --------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def access_log(self) -> list[str]:
        """The request lines gunicorn logged, health checks left out."""
        return [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if '"' in line and "/readyz" not in line and "/healthz" not in line
        ]

    def served(self, method: str, path: str) -> int:
        pattern = re.compile(rf'"{method} {re.escape(path)} HTTP/1\.1" \d')
        return sum(bool(pattern.search(line)) for line in self.access_log())

    def kill(self) -> None:
        """As a machine dies: the master and its workers at once, no goodbye.
        Returns once its port refuses connections (the last worker gone)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except ConnectionRefusedError:
                return
            time.sleep(0.01)
        pytest.fail(f"gunicorn {self.name} still answers after kill -9")


@dataclass
class Cluster:
    url: str
    servers: dict[str, Server]
    stats_socket: Path
    database: sa.URL
    bucket: str
    s3_endpoint: str
    grievance: str

    def status(self) -> dict[str, str]:
        """Each server's state as HAProxy sees it: UP, DOWN, ..."""
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(5)
            connection.connect(str(self.stats_socket))
            connection.sendall(b"show stat\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        lines = answer.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row.get("pxname") == "app" and row.get("svname") in self.servers
        }

    def served(self, method: str, path: str, total: int) -> dict[str, int]:
        """How many of these requests each server logged, once they add up to
        `total`: gunicorn logs a request just after its answer is sent."""
        deadline = time.monotonic() + 10
        while True:
            counts = {
                name: server.served(method, path)
                for name, server in self.servers.items()
            }
            if sum(counts.values()) >= total or time.monotonic() > deadline:
                return counts
            time.sleep(0.02)

    def wait_for(self, wanted: dict[str, str], within: float = 30) -> float:
        deadline = time.monotonic() + within
        while True:
            seen = self.status()
            if all(seen.get(name) == state for name, state in wanted.items()):
                return time.monotonic()
            if time.monotonic() > deadline:
                pytest.fail(f"HAProxy sees {seen}, not {wanted}")
            time.sleep(0.05)


def haproxy_program() -> str:
    found = shutil.which("haproxy") or shutil.which(
        "haproxy", path="/usr/sbin:/usr/local/sbin"
    )
    if found is None:
        pytest.skip("haproxy is not installed (.ci/run installs it)")
    return found


def haproxy_config(folder: Path, port: int, servers: dict[str, int]) -> Path:
    """Round robin over every request (no stickiness: sessions must not need
    it), health checks on /readyz, and a request that could not reach a server
    at all (connection refused) sent to the next one. X-Forwarded-Proto says
    https, as a balancer ending TLS would."""
    backends = "\n".join(
        f"    server {name} 127.0.0.1:{server_port}"
        for name, server_port in servers.items()
    )
    config = folder / "haproxy.cfg"
    config.write_text(
        f"""global
    stats socket {folder / "haproxy.sock"} mode 600 level admin
    maxconn 200

defaults
    mode http
    timeout connect 2s
    timeout client {TIMEOUT}s
    timeout server {TIMEOUT}s
    retries 3
    retry-on conn-failure
    option redispatch 1
    # A new connection to a server for each request: a request sent on a kept
    # connection to a server that has just died could not be retried safely.
    option http-server-close
    http-reuse never

frontend web
    bind 127.0.0.1:{port}
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    default_backend app

backend app
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host {HOST}
    http-check expect status 200
    default-server check inter 200ms fall 2 rise 1
{backends}
"""
    )
    return config


def start_gunicorn(env_file: Path, log: Path) -> subprocess.Popen[bytes]:
    """ExecStart in WorkingDirectory with EnvironmentFile, as systemd runs it, in
    a process group of its own (so that it can be killed whole) and its log in
    a file (an unread pipe would fill up under load and stop it)."""
    unit = unit_settings()
    loader = 'set -a; . "$0"; set +a; exec "$@"'
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 -- the unit's own command line
            ["/bin/sh", "-c", loader, str(env_file), *shlex.split(unit["ExecStart"])],
            cwd=unit["WorkingDirectory"],
            env={"PATH": os.environ["PATH"]},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn {server.name} stopped: {server.log.read_text()}")
        try:
            answer = requests.get(
                f"http://127.0.0.1:{server.port}/readyz",
                headers={"Host": HOST, "X-Forwarded-Proto": "https"},
                # The workers load the app after the port is open.
                timeout=TIMEOUT,
            )
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn {server.name} was not ready within a minute")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def shared_redis() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("nothing answers on redis://127.0.0.1:6379 (.ci/run starts it)")
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@contextlib.contextmanager
def smtp_server() -> Iterator[str]:
    port = free_port()
    controller = Controller(Accepting(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp+insecure://127.0.0.1:{port}"
    finally:
        controller.stop()


def prepared_database(url: sa.URL) -> str:
    """The schema, a steward with a case, an account to guess the password of, and
    a member paying by card; returns the case's public id."""
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False)
        )
    )
    try:
        reset_schema(app)
        with app.app_context():
            make = factories.Factories(FIXED_NOW)
            workplace = make.workplace()
            steward = make.steward(workplace, email=STEWARD)
            case = make.grievance(workplace, steward=steward).public_id
            make.user("guessed@example.org", roles=(Role.ADMIN,))
            member = make.member(workplace)
            member.stripe_customer_id = CUSTOMER
            db.session.commit()
            return case
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Iterator[Cluster]:
    haproxy = haproxy_program()
    folder = tmp_path_factory.mktemp("servers")
    bucket = f"union-documents-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=bucket)
    processes: list[subprocess.Popen[bytes]] = []
    with (
        postgresql_database("multi_server") as database,
        shared_redis() as redis_url,
        smtp_server() as smtp_url,
    ):
        case = prepared_database(database)
        try:
            servers = {}
            for name in SERVERS:
                home = folder / name
                home.mkdir()
                documents = home / "documents"
                documents.mkdir(mode=0o700)
                port = free_port()
                env_file = environment_file(
                    home,
                    {
                        "DATABASE_URL": database.render_as_string(hide_password=False),
                        "REDIS_URL": redis_url,
                        "SMTP_URL": smtp_url,
                        "MAIL_FROM": "Test Union <dues@union.test>",
                        # The keys the prepared data was written with.
                        "SECRET_KEY": SECRET,
                        "LOOKUP_HASH_KEY": config_for_tests()["LOOKUP_HASH_KEY"],
                        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
                        "DOCUMENT_STORAGE": "s3",
                        "DOCUMENT_STORAGE_PATH": str(documents),
                        "DOCUMENT_S3_BUCKET": bucket,
                        "DOCUMENT_S3_ENDPOINT_URL": s3_endpoint,
                        "DOCUMENT_S3_REGION": REGION,
                        "DOCUMENT_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
                        "DOCUMENT_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                        "STRIPE_SECRET_KEY": "sk_test_two_servers",
                        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                        "UNION_BIND": f"127.0.0.1:{port}",
                        "WEB_CONCURRENCY": "2",
                        "UNION_THREADS": "4",
                    },
                )
                log = home / "gunicorn.log"
                process = start_gunicorn(env_file, log)
                processes.append(process)
                servers[name] = Server(name, port, log, process)
            for server in servers.values():
                wait_until_ready(server)

            port = free_port()
            config = haproxy_config(
                folder, port, {name: server.port for name, server in servers.items()}
            )
            with (folder / "haproxy.log").open("wb") as output:
                balancer = subprocess.Popen(  # noqa: S603 -- Debian's program, our config
                    [haproxy, "-db", "-f", str(config)],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            processes.append(balancer)
            found = Cluster(
                url=f"http://127.0.0.1:{port}",
                servers=servers,
                stats_socket=folder / "haproxy.sock",
                database=database,
                bucket=bucket,
                s3_endpoint=s3_endpoint,
                grievance=case,
            )
            deadline = time.monotonic() + 30
            while not found.stats_socket.exists():
                if balancer.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((folder / "haproxy.log").read_text())
                time.sleep(0.05)
            found.wait_for(dict.fromkeys(SERVERS, "UP"))
            yield found
        finally:
            for process in processes:
                stop(process)


# A browser ---------------------------------------------------------------------------


class Browser:
    """requests keeping a cookie jar of the standard library's, asking for the
    public host through the balancer. The balancer stands where TLS would end,
    so the jar sends the app's Secure (__Host-) cookies over this loopback
    connection as a browser sends them over https. (A requests Session's own
    jar would not do: it copies the cookies into a jar of default policy for
    each request.)"""

    def __init__(self, cluster: Cluster) -> None:
        self.base = cluster.url
        self.connections = requests.Session()
        self.jar = http.cookiejar.CookieJar(
            http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "http"))
        )

    def cookie_names(self) -> set[str]:
        return {cookie.name for cookie in self.jar}

    def request(
        self, method: str, path: str, headers: dict[str, str], **body: Any
    ) -> requests.Response:
        prepared = requests.Request(
            method, self.base + path, headers={"Host": HOST, **headers}, **body
        ).prepare()
        cookies = requests.cookies.get_cookie_header(self.jar, prepared)
        if cookies:
            prepared.headers["Cookie"] = cookies
        response = self.connections.send(
            prepared, allow_redirects=False, timeout=TIMEOUT
        )
        requests.cookies.extract_cookies_to_jar(self.jar, prepared, response.raw)
        return response

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path, {})

    def post(
        self,
        path: str,
        form: dict[str, str],
        files: dict[str, Any] | None = None,
        page: str | None = None,
    ) -> requests.Response:
        # A browser names the page a form was sent from; over https the app's
        # CSRF check requires it to be the app's own.
        headers = {
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}{page or path}",
        }
        return self.request("POST", path, headers, data=form, files=files)

    def token(self, page: str) -> str:
        answer = self.get(page)
        assert answer.status_code == 200, (page, answer.status_code)
        found = CSRF_FIELD.search(answer.text)
        assert found is not None, page
        return found.group(1)

    def sign_in(self, email: str, password: str = factories.PASSWORD) -> int:
        return self.post(
            "/login",
            {"csrf_token": self.token("/login"), "email": email, "password": password},
        ).status_code


def deliver(cluster: Cluster, body: bytes, signature: str) -> tuple[int, str]:
    answer = requests.post(
        cluster.url + "/stripe/webhook",
        data=body,
        headers={
            "Host": HOST,
            "Stripe-Signature": signature,
            "Content-Type": "application/json",
        },
        timeout=TIMEOUT,
    )
    outcome = answer.json().get("outcome", "") if answer.status_code == 200 else ""
    return answer.status_code, outcome


def paid_invoice(number: str) -> dict[str, Any]:
    return {
        "id": f"in_test_{number}",
        "object": "invoice",
        "status": "paid",
        "amount_paid": 1100,
        "customer": CUSTOMER,
        "created": int(time.time()),
        "lines": {"data": [{"type": "subscription", "amount": 1100}]},
    }


def ledger(cluster: Cluster, event_ids: list[str]) -> tuple[int, int]:
    """(Stripe events recorded, payments recorded) for these events."""
    engine = sa.create_engine(cluster.database)
    invoices = [
        f"in_test_{event_id.removeprefix('evt_test_')}" for event_id in event_ids
    ]
    try:
        with engine.connect() as connection:
            events = connection.scalar(
                sa.select(sa.func.count())
                .select_from(StripeEvent)
                .where(StripeEvent.id.in_(event_ids))
            )
            payments = connection.scalar(
                sa.select(sa.func.count())
                .select_from(DuesPayment)
                .where(DuesPayment.stripe_invoice_id.in_(invoices))
            )
    finally:
        engine.dispose()
    return int(events or 0), int(payments or 0)


def until(condition: Callable[[], bool], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} within {within} seconds")
        time.sleep(0.05)


# The tests ---------------------------------------------------------------------------


def test_a_session_continues_whichever_server_answers(cluster):
    browser = Browser(cluster)
    assert browser.sign_in(STEWARD) == 302
    assert "__Host-session" in browser.cookie_names()
    pages = [browser.get("/grievances/") for _ in range(6)]
    assert [page.status_code for page in pages] == [200] * 6
    served = cluster.served("GET", "/grievances/", total=6)
    assert served == {"one": 3, "two": 3}, "each request went to the next server"


def test_sign_in_failures_count_across_both_servers(cluster):
    # Every try comes from the balancer's one address: the allowance of an
    # account from one address is the first reached.
    limit = SIGN_IN_LIMITS["pair"].attempts
    guesser = Browser(cluster)
    token = guesser.token("/login")

    def sign_in(password: str) -> tuple[int, str]:
        """The answer, and which server gave it."""
        before = cluster.served("POST", "/login", total=0)
        answer = guesser.post(
            "/login",
            {"csrf_token": token, "email": "guessed@example.org", "password": password},
        )
        after = cluster.served("POST", "/login", total=sum(before.values()) + 1)
        (server,) = (name for name in SERVERS if after[name] > before[name])
        return answer.status_code, server

    failures = [sign_in("a wrong guess") for _ in range(limit)]
    assert [status for status, _server in failures] == [200] * limit
    # The tries took turns: neither server alone saw the limit reached...
    assert {server for _status, server in failures} == set(SERVERS)
    # ...together they did: the right password is now refused by either.
    refused = [sign_in(factories.PASSWORD) for _ in range(2)]
    assert sorted(refused) == [(429, "one"), (429, "two")]


def test_a_document_uploaded_through_one_is_read_through_the_other(cluster):
    steward = Browser(cluster)
    assert steward.sign_in(STEWARD) == 302
    case = f"/grievances/{cluster.grievance}"
    uploaded = steward.post(
        f"{case}/documents",
        {"csrf_token": steward.token(case)},
        files={"file": ("letter.pdf", factories.PDF_BYTES, "application/pdf")},
        page=case,
    )
    assert uploaded.status_code == 302, uploaded.text
    page = steward.get(case).text
    (link,) = re.findall(rf'href="({re.escape(case)}/documents/\d+)"', page)
    downloads = [steward.get(link) for _ in range(2)]
    assert [answer.content for answer in downloads] == [factories.PDF_BYTES] * 2
    # One of the two was read where it was not uploaded.
    assert cluster.served("POST", f"{case}/documents", total=1) in (
        {"one": 1, "two": 0},
        {"one": 0, "two": 1},
    )
    assert cluster.served("GET", link, total=2) == {"one": 1, "two": 1}
    stored = s3_client(cluster.s3_endpoint).list_objects_v2(Bucket=cluster.bucket)
    (stored_object,) = stored["Contents"]
    body = (
        s3_client(cluster.s3_endpoint)
        .get_object(Bucket=cluster.bucket, Key=stored_object["Key"])["Body"]
        .read()
    )
    assert factories.PDF_BYTES not in body, "the store holds it encrypted"


def test_the_same_stripe_events_split_across_both_leave_one_row_each(cluster):
    deliveries = []
    for number in range(6):
        name = f"split_{number}_{uuid.uuid4().hex[:8]}"
        deliveries.append(
            signed(
                event("invoice.paid", paid_invoice(name), event_id=f"evt_test_{name}")
            )
        )
    outcomes: dict[str, list[tuple[int, str]]] = {d.event["id"]: [] for d in deliveries}
    before = cluster.served("POST", "/stripe/webhook", total=0)
    # Both copies of each event at the same moment: the balancer sends one to
    # each server, and they race to record it.
    together = threading.Barrier(2, timeout=30)

    def send_all() -> None:
        for delivery in deliveries:
            together.wait()
            outcomes[delivery.event["id"]].append(
                deliver(cluster, delivery.body, delivery.signature)
            )

    senders = [threading.Thread(target=send_all) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    assert all(
        sorted(answers) == [(200, "duplicate"), (200, "processed")]
        for answers in outcomes.values()
    ), outcomes
    after = cluster.served(
        "POST", "/stripe/webhook", total=sum(before.values()) + 2 * len(deliveries)
    )
    assert {name: after[name] - before[name] for name in SERVERS} == dict.fromkeys(
        SERVERS, len(deliveries)
    )
    assert ledger(cluster, list(outcomes)) == (len(deliveries), len(deliveries))


# Last in the file: the servers are shared by the module's tests, and this one
# leaves only one running.
def test_killing_one_server_under_load_loses_only_its_requests_in_flight(cluster):
    signed_in = Browser(cluster)
    assert signed_in.sign_in(STEWARD) == 302
    stopping = threading.Event()
    results: list[tuple[float, int, str]] = []  # (started, status, event id)
    results_lock = threading.Lock()

    def pay_again_and_again(thread: int) -> None:
        number = 0
        while not stopping.is_set():
            name = f"load_{thread}_{number}_{uuid.uuid4().hex[:6]}"
            delivery = signed(
                event("invoice.paid", paid_invoice(name), event_id=f"evt_test_{name}")
            )
            started = time.monotonic()
            try:
                status, _outcome = deliver(cluster, delivery.body, delivery.signature)
            except requests.RequestException:
                status = 0
            with results_lock:
                results.append((started, status, delivery.event["id"]))
            number += 1

    def read_again_and_again() -> None:
        while not stopping.is_set():
            started = time.monotonic()
            try:
                status = signed_in.get("/grievances/").status_code
            except requests.RequestException:
                status = 0
            with results_lock:
                results.append((started, status, ""))

    workers = [
        threading.Thread(target=pay_again_and_again, args=(n,)) for n in range(2)
    ]
    workers.append(threading.Thread(target=read_again_and_again))
    for worker in workers:
        worker.start()
    before = cluster.served("POST", "/stripe/webhook", total=0)

    def both_busy() -> bool:
        now = cluster.served("POST", "/stripe/webhook", total=0)
        return all(now[name] >= before[name] + 5 for name in SERVERS)

    def answered_after(moment: float) -> int:
        with results_lock:
            return sum(started > moment for started, _status, _id in results)

    try:
        until(both_busy, "both servers busy")
        cluster.servers["one"].kill()
        killed_at = time.monotonic()
        noticed_at = cluster.wait_for({"one": "DOWN", "two": "UP"}, within=15)
        until(lambda: answered_after(noticed_at) >= 30, "the survivor busy alone")
    finally:
        stopping.set()
        for worker in workers:
            worker.join(timeout=60)

    after_notice = [status for started, status, _ in results if started > noticed_at]
    assert after_notice and all(status == 200 for status in after_notice), after_notice
    failed = [(started, status) for started, status, _ in results if status != 200]
    # Only what was in flight when the server died: one request per thread.
    assert len(failed) <= len(workers), failed
    assert all(started <= killed_at for started, _status in failed), failed
    answered = [
        event_id for _, status, event_id in results if status == 200 and event_id
    ]
    assert len(answered) > 10
    assert ledger(cluster, answered) == (len(answered), len(answered))
    assert sum(1 for started, *_ in results if started < killed_at) > 0
