"""What every blueprint leans on: access rules per endpoint, signing in, template
filters, and the emails rendered from templates.

Imported only by views, the CLI and create_app; services never import it
(tests/unit/test_layers.py).
"""
