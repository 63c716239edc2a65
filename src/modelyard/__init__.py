"""modelyard: take trained models from a registry to production serving and keep them healthy."""

from modelyard.domain.errors import ErrorCode, ModelyardError

__version__ = "0.1.0"

__all__ = ["ErrorCode", "ModelyardError", "__version__"]
