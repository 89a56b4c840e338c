"""Cost model and measurement, clients, Redis health, the unserved check, Prometheus."""
