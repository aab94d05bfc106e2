"""The server's process links carry everything the scan's quality policy reads: a frame's
out-of-distribution flag and reason, coverage and coupled confidence go from the imaging
process through the server to the control process unchanged."""

import math

from robot_us.scan.quality_policy import QualityObservation
from robot_us.server import links


def test_quality_reaches_the_control_process_with_its_ood_flag_and_confidence():
    sent = links.Quality(7, 1.25, 0.4, "poor_contact", True, "frozen", 0.6, 0.35)
    got = links.decode_to_control(links.encode(sent))
    assert got == sent
    obs = QualityObservation(
        got.seq,
        got.t_loop,
        got.score,
        got.label,
        got.ood,
        got.ood_reason,
        got.coverage,
        got.coupled_confidence,
    )
    assert obs.ood and obs.ood_reason == "frozen" and obs.coverage == 0.6


def test_quality_info_defaults_to_no_confidence_map():
    info = links.QualityInfo(1, 0.5, "good", 0.9, float("nan"))
    assert not info.ood and math.isnan(info.coverage) and math.isnan(info.coupled_confidence)
