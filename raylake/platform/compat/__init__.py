"""Thin adapters that speak the other reference documents (``../shared/reference/001-003``) over the
native services: one router module per document, mapping requests in and answers out, no logic of
their own. Each lives under its own fixed prefix (``/compat/<name>``) and OpenAPI tag."""
