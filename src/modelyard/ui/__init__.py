"""modelyard.ui."""
