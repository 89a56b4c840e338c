"""The OpenAPI document of the JSON API, built from the route registry."""
