"""The shipped quality model meets the ONNX contract and classifies fresh simulated frames
sensibly; plugged-in models are validated at load with a clear error."""

from pathlib import Path

import numpy as np
import pytest

from perception.quality.assess import QualityAssessor
from perception.quality.classes import QualityClass
from perception.quality.config import QualityConfig
from perception.quality.model import ModelContractError, QualityModel
from robot_us.imaging.models import load_quality_model, shipped_model_bytes
from robot_us.imaging.training import SHIPPED_MODEL
from tests.us_helpers import RIB_Y, on_skin, small_sim

MODELS = Path(__file__).parent / "data" / "quality_models"


@pytest.fixture(scope="module")
def model():
    return load_quality_model()


def test_shipped_model_is_small_and_meets_the_contract(model):
    assert len(shipped_model_bytes()) < 2 * 1024 * 1024
    assert model.input_size == (64, 64)
    out = model(np.zeros((200, 300), np.uint8))
    assert out.probs.shape == (4,) and out.probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert 0.0 <= out.score <= 1.0


def test_shipped_model_classifies_fresh_simulated_frames(model):
    sim = small_sim("linear", 128)
    lifted = [
        sim.render(on_skin(th, y, press=-0.005), 0.0).image
        for th, y in [(0.0, 0.0), (0.2, 0.1), (-0.3, -0.05)]
    ]
    good = [sim.render(on_skin(th, y), 5.0).image for th, y in [(0.05, 0.03), (-0.2, 0.12)]]
    shadow = sim.render(on_skin(0.1, RIB_Y, yaw=np.pi / 2), 5.0).image
    outs = model.predict([*lifted, *good, shadow])
    assert [o.quality for o in outs[:3]] == [QualityClass.NO_CONTACT] * 3
    assert all(o.score < 0.2 for o in outs[:3])
    assert [o.quality for o in outs[3:5]] == [QualityClass.GOOD] * 2
    assert all(o.score > 0.7 for o in outs[3:5])
    assert outs[5].quality == QualityClass.SHADOWED


def test_a_third_party_model_meeting_the_contract_loads():
    m = load_quality_model(MODELS / "valid_tiny.onnx")
    assert m.input_size == (32, 32)
    assert m(np.full((64, 80), 128, np.uint8)).quality in set(QualityClass)


@pytest.mark.parametrize(
    "name, why",
    [
        ("wrong_channels", r"\[N, 1, H, W\]"),
        ("missing_score", "missing output 'score'"),
        ("three_classes", r"'probs' must be \[N, 4\]"),
        ("not_probabilities", "not probabilities"),
        ("dynamic_size", "fixed H, W"),
        ("wrong_metadata", "metadata classes"),
    ],
)
def test_contract_violations_are_named(name, why):
    with pytest.raises(ModelContractError, match=why):
        load_quality_model(MODELS / f"{name}.onnx")


def test_unloadable_or_missing_model(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelContractError, match="not a loadable ONNX model"):
        load_quality_model(junk)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_quality_model(tmp_path / "absent.onnx")


def test_assessor_adds_confidence(model):
    f = small_sim().render(on_skin(0.0, 0.05), 5.0)
    res = QualityAssessor(QualityConfig(confidence_size=32), model).assess(f.image, 0.06)
    assert res.confidence is not None and res.confidence.per_scanline.shape == (32,)
    assert 0 < res.mean_confidence < 1
    assert res.to_dict()["class"] == res.quality.value
    with pytest.raises(ValueError, match="uint8"):
        model(np.zeros((10, 10), np.float32))


def test_model_from_bytes():
    m = QualityModel((MODELS / "valid_tiny.onnx").read_bytes(), name="bytes model")
    assert m.name == "bytes model"
    with pytest.raises(TypeError, match="bytes"):
        QualityModel(str(MODELS / "valid_tiny.onnx"))


def test_training_writes_by_default_the_model_the_loader_ships():
    assert SHIPPED_MODEL.read_bytes() == shipped_model_bytes()
