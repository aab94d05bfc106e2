"""Tracked 3D ultrasound from the robot's own recording: frame selection and time lag
(``sweep``), reconstruction (``reconstruct``), 3D Slicer files (``slicer_files``) and the
accuracy against the simulator's phantom (``accuracy``). See docs/reconstruction.md."""
