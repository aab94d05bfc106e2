"""The pybullet scanning cell: arm, probe, F/T sensor, phantom, camera, ultrasound."""
