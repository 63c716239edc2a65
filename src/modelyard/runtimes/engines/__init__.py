"""modelyard.runtimes.engines."""
