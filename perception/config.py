"""Configuration of stroke -> skin mapping, body segmentation and the ChArUco calibration
board (``[perception]``)."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import ConfigError, param, section

#: ArUco dictionaries a board may use (OpenCV names).
DICTIONARIES = (
    "DICT_4X4_50",
    "DICT_4X4_100",
    "DICT_5X5_50",
    "DICT_5X5_100",
    "DICT_6X6_50",
    "DICT_6X6_250",
)


@dataclass(frozen=True)
class BodySegmentationConfig:
    """Segmenting the body from the bed by geometry (used when no body mask is given): the
    bed is the largest near-horizontal plane in view; the body is what rises above it."""

    min_height: float = param(
        0.012, lo=0.002, hi=0.2, unit="m", doc="height above the bed from which a point is body"
    )
    max_height: float = param(
        0.6, lo=0.05, hi=2.0, unit="m", doc="height above the bed plane above which it is not body"
    )
    max_tilt: float = param(
        0.1745, lo=0.0, hi=0.7854, unit="rad", doc="largest tilt of the bed plane from base z"
    )
    inlier_threshold: float = param(
        0.005, lo=0.001, hi=0.05, unit="m", doc="distance from the bed plane counted as bed"
    )
    ransac_iterations: int = param(
        200, lo=10, hi=5000, doc="bed plane hypotheses tried (seeded, deterministic)"
    )
    pixel_stride: int = param(
        6, lo=1, hi=32, unit="px", doc="depth image subsampling for the bed plane search"
    )
    min_bed_fraction: float = param(
        0.05, lo=0.001, hi=1.0, doc="fraction of valid depth pixels the bed plane must cover"
    )


@dataclass(frozen=True)
class CharucoConfig:
    """The ChArUco calibration board (print it flat; measure the printed square size)."""

    squares_x: int = param(8, lo=3, hi=30, doc="chessboard squares along the board's x")
    squares_y: int = param(6, lo=3, hi=30, doc="chessboard squares along the board's y")
    square_length: float = param(
        0.03, lo=0.005, hi=0.2, unit="m", doc="side of a chessboard square as printed"
    )
    marker_length: float = param(
        0.022, lo=0.003, hi=0.2, unit="m", doc="side of an ArUco marker as printed"
    )
    dictionary: str = param("DICT_5X5_100", choices=DICTIONARIES, doc="ArUco dictionary")
    legacy_pattern: bool = param(
        False, doc="boards made with OpenCV < 4.6 (even rows start with a marker)"
    )

    def validate(self, prefix: str) -> None:
        """The markers must fit in the squares."""
        if self.marker_length >= self.square_length:
            raise ConfigError(
                f"config key '{prefix}.marker_length' ({self.marker_length}) must be smaller "
                f"than '{prefix}.square_length' ({self.square_length})"
            )


@dataclass(frozen=True)
class PerceptionConfig:
    """Mapping an operator's stroke on the camera image onto the skin (base frame)."""

    densify_step: float = param(
        0.001, lo=0.0002, hi=0.001, unit="m", doc="largest spacing of mapped points on the skin"
    )
    normal_radius: float = param(
        0.015,
        lo=0.003,
        hi=0.05,
        unit="m",
        doc="radius of the neighbourhood each point and normal is fitted to",
    )
    path_smoothing: float = param(
        0.005,
        lo=0.0,
        hi=0.05,
        unit="m",
        doc="sigma (arc length) of the smoothing along the path of depth and normals (0 = none)",
    )
    fit_spacing: float = param(
        0.003,
        lo=0.0005,
        hi=0.02,
        unit="m",
        doc="spacing of the local surface fits along the stroke (points between use both)",
    )
    min_fit_points: int = param(
        15, lo=6, hi=10000, doc="fewest valid depth samples a local surface fit needs"
    )
    outlier_threshold: float = param(
        0.004,
        lo=0.0005,
        hi=0.05,
        unit="m",
        doc="smallest residual band kept in the fit (3 sigma of the residuals if larger)",
    )
    max_hole: float = param(
        0.01,
        lo=0.0,
        hi=0.1,
        unit="m",
        doc="longest run of missing depth along the stroke that is filled (longer is an error)",
    )
    max_off_body: float = param(
        0.005,
        lo=0.0,
        hi=0.1,
        unit="m",
        doc="longest part of the stroke allowed off the body (longer is an error)",
    )
    min_length: float = param(
        0.01, lo=0.001, hi=1.0, unit="m", doc="shortest stroke accepted (arc length on the skin)"
    )
    max_length: float = param(
        1.0,
        lo=0.05,
        hi=5.0,
        unit="m",
        doc="longest stroke accepted (arc length on the skin); bounds the mapper's work",
    )
    min_valid_fraction: float = param(
        0.3, lo=0.01, hi=1.0, doc="fewest valid depth pixels around the stroke (fraction)"
    )
    depth_min: float = param(0.1, lo=0.0, hi=2.0, unit="m", doc="nearest valid depth")
    depth_max: float = param(4.0, lo=0.5, hi=20.0, unit="m", doc="farthest valid depth")
    calibration_file: str = param(
        "",
        doc="camera calibration JSON (T_base_camera, optional intrinsics); '' = use the scene's",
    )
    segmentation: BodySegmentationConfig = section(BodySegmentationConfig)
    charuco: CharucoConfig = section(CharucoConfig)

    def validate(self, prefix: str) -> None:
        """Cross-field checks (called after loading)."""
        if self.fit_spacing > self.normal_radius:
            raise ConfigError(
                f"config key '{prefix}.fit_spacing' ({self.fit_spacing}) must not exceed "
                f"'{prefix}.normal_radius' ({self.normal_radius})"
            )
        if self.max_length <= self.min_length:
            raise ConfigError(
                f"config key '{prefix}.max_length' ({self.max_length}) must exceed "
                f"'{prefix}.min_length' ({self.min_length})"
            )
        if self.depth_max <= self.depth_min:
            raise ConfigError(
                f"config key '{prefix}.depth_max' ({self.depth_max}) must exceed "
                f"'{prefix}.depth_min' ({self.depth_min})"
            )
