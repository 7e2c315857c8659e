"""The outside world and file formats: Stripe, SMTP, document storage, Redis
counters, encryption, bulk loading, backups, CSV, iCalendar, charts.

Each adapter knows its system and nothing of the union's domain: none imports
models, rules, services, forms, views or web (tests/unit/test_layers.py).
"""
