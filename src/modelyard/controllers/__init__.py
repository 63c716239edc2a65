"""modelyard.controllers."""
