"""Static files (vendored htmx, CSS), shipped in the wheel as `dashboard.static`."""
