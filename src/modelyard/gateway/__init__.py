"""modelyard.gateway."""
