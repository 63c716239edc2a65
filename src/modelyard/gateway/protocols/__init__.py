"""modelyard.gateway.protocols."""
