"""Pydantic schemas of the REST API: ``*Create``, ``*Update`` and ``*Public`` per resource."""
