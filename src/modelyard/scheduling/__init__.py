"""modelyard.scheduling."""
