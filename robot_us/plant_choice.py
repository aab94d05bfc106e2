"""The simulated plant the demo and the benchmarks run unless told otherwise: the
``realistic`` profile (a 100 Hz F/T with latency, noise and drift, the arm's actuation,
nonlinear viscoelastic tissue with stiff ribs) on the ``torso`` phantom
(docs/simulation.md). The packaged configuration stays ``ideal`` on the cylinder, which
unit tests use; ``--profile config`` / ``--shape config`` take those from the config."""

from __future__ import annotations

import argparse

from robot_us.config import Config

#: Plant profile (``sim.profile``) of the demo and the benchmarks.
DEFAULT_PROFILE = "realistic"
#: Phantom shape (``sim.phantom.shape``) of the demo and the benchmarks.
DEFAULT_SHAPE = "torso"
#: Choices of ``--profile`` and ``--shape`` ('config' = whatever the config says).
PROFILE_CHOICES = ("ideal", "realistic", "harsh", "config")
SHAPE_CHOICES = ("cylinder", "torso", "config")


def add_plant_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--profile`` and ``--shape`` (defaults: realistic, torso) to ``p``."""
    p.add_argument(
        "--profile",
        choices=PROFILE_CHOICES,
        default=DEFAULT_PROFILE,
        help=f"plant profile (default {DEFAULT_PROFILE}; 'config' = sim.profile)",
    )
    p.add_argument(
        "--shape",
        choices=SHAPE_CHOICES,
        default=DEFAULT_SHAPE,
        help=f"phantom shape (default {DEFAULT_SHAPE}; 'config' = sim.phantom.shape)",
    )


def plant_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Config overrides for the ``--profile`` / ``--shape`` arguments ('config' adds none)."""
    out: dict[str, object] = {}
    if args.profile != "config":
        out["sim.profile"] = args.profile
    if args.shape != "config":
        out["sim.phantom.shape"] = args.shape
    return out


def plant_figures(cfg: Config) -> dict[str, object]:
    """What a benchmark's JSON records of the plant its figures come from."""
    return {
        "sim_profile": cfg.sim.profile,
        "phantom_shape": cfg.sim.phantom.shape,
        "ft_device": cfg.sim.ft.device,
        "ft_rate_hz": cfg.sim.ft.rate_hz,
    }
