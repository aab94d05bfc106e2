"""Ultrasound image quality assessment: confidence maps and ONNX models."""
