"""modelyard.observability."""
