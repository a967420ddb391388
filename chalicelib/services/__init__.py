"""Use cases: take plain values and the principal, raise domain errors."""
