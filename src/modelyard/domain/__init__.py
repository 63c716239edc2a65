"""Pure data and rules: objects, state machines as transition tables, errors.

Imports the standard library and pydantic only; nothing here does I/O or awaits.
"""
