"""modelyard.api."""
