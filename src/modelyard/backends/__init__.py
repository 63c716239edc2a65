"""modelyard.backends."""
