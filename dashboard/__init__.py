"""Drainboard: a BullMQ dashboard and on-demand drain engine for metered Redis."""

__version__ = "0.1.0"
