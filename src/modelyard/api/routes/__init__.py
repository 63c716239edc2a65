"""modelyard.api.routes."""
