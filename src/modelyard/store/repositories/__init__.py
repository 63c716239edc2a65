"""modelyard.store.repositories."""
