"""Loading the image-quality model: the one shipped inside the package, or a user's ONNX
file; either is validated against the contract (``perception.quality.model``) at load."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from perception.quality.model import QualityModel

#: Package and resource name of the shipped model.
SHIPPED_PACKAGE = "perception.quality"
SHIPPED_RESOURCE = "models/quality_cnn.onnx"


def shipped_model_bytes() -> bytes:
    """The serialized ONNX model shipped with robot-us."""
    return resources.files(SHIPPED_PACKAGE).joinpath(SHIPPED_RESOURCE).read_bytes()


def load_quality_model(path: str | Path = "", threads: int = 1) -> QualityModel:
    """The quality model at ``path`` ('' = the shipped model), contract-checked; a missing
    file raises ``FileNotFoundError``, a contract violation ``ModelContractError``."""
    if not str(path):
        return QualityModel(shipped_model_bytes(), name="shipped quality model", threads=threads)
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"quality model file not found: {p}")
    return QualityModel(p.read_bytes(), name=str(p), threads=threads)
