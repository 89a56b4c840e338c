"""Drainboard's message catalogs, one folder per language (<locale>/LC_MESSAGES/messages.po).

Kept at the top level of the checkout beside templates/ and shipped in the wheel as
`dashboard.locales` (setup.py); `make messages` updates them from the templates and sources."""
