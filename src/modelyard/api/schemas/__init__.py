"""modelyard.api.schemas."""
