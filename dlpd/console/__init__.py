"""`dlpd console`: the review web app over the store (alerts, labels, access log, audit).

The only package that imports Starlette, Jinja2, uvicorn, argon2 and python-multipart
(an import-linter contract says so): a file server that only watches installs none of it
(`pip install 'dlpd[console]'`).

Request path: ``security.SecurityMiddleware`` (Host allowlist, headers, session lookup,
Origin and CSRF on every state change) -> a route in ``views/`` -> ``pages`` helpers ->
a Jinja2 template with autoescape on. Every value from the store is attacker-chosen text.
"""
