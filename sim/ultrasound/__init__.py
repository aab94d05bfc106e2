"""Simulated ultrasound: the labelled phantom volume, linear and convex scan geometries, the
B-mode ray simulator and the simulated frame source (see ``docs/ultrasound.md``)."""
