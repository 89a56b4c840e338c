"""Jinja2 templates, shipped in the wheel as the data package `dashboard.templates`."""
