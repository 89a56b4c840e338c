"""Route modules, one per view; the registry in this package mounts them."""
