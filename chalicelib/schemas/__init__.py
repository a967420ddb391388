"""Pydantic models: they validate requests and generate ``/openapi.json``, one per capability."""
