"""Constructs by logical unit. Each takes keyword-only props and exposes what the others
need as attributes; :mod:`infra.stacks.regional` wires them together."""
