"""The operator console: a client of the robot-side server (PySide6), nothing else."""
