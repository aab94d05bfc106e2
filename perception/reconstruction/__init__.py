"""Tracked 3D ultrasound: compounding frames into a voxel volume (``compounding``), mapping
anechoic vessels in it (``vessels``) and estimating the image-to-pose time lag
(``temporal_calibration``). Pure algorithms: arrays in, arrays out."""
