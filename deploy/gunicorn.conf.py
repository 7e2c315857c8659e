"""gunicorn settings for the union app: `gunicorn --config deploy/gunicorn.conf.py wsgi:app`.

Every value can be changed through the environment (the service's environment
file) without editing this file.
"""

import os

#: Only the reverse proxy on this machine reaches the app; nothing else should.
bind = [os.environ.get("UNION_BIND", "127.0.0.1:8000")]

#: Processes: two per CPU this service may use, plus one, so a slow request (a
#: PDF, a CSV export) never holds up the rest. Each process also runs a few
#: threads, since most of a request's time is spent waiting for PostgreSQL.
#: Every thread may hold a database connection: keep workers x threads well
#: under PostgreSQL's max_connections (100 by default).
_cpus = len(os.sched_getaffinity(0))
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cpus + 1)
threads = int(os.environ.get("UNION_THREADS") or 4)
worker_class = "gthread"

#: A request that takes longer is stopped and its worker replaced; closing a very
#: large survey round belongs on the command line (`union close-survey-round`).
timeout = 60
graceful_timeout = 30
keepalive = 5

#: Caddy, on this machine, sets X-Forwarded-For and X-Forwarded-Proto. The app
#: reads them itself (TRUSTED_PROXIES=1 in the environment file, werkzeug's
#: ProxyFix); gunicorn trusts X-Forwarded-Proto from this machine only.
forwarded_allow_ips = "127.0.0.1,::1"

#: Logs go to the journal. The access log keeps method, path, status and size;
#: the app's filter drops query strings, emailed-link tokens and the host part of
#: the client address before anything is written.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s'
errorlog = "-"
loglevel = "info"
#: How the processes are named in `ps` and the journal.
proc_name = "union-web"


def child_exit(server, worker):
    """With metrics on (PROMETHEUS_MULTIPROC_DIR set), a process that exits
    leaves its counters to the total and takes its live gauges with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
