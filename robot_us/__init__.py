"""robot-us: robotic ultrasound scanning control stack."""

__version__ = "0.1.0"
