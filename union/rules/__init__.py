"""Rules that need no database session and no request: standing from months
covered, the grievance steps, disclosure control, password policy.

They may read model enums and the shared vocabulary (clock, money, i18n), and are
tested in tests/unit without an app. They never import services, forms, views or
web (tests/unit/test_layers.py).
"""
