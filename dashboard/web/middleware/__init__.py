"""ASGI middleware: who may do what, sessions, limits, headers."""
