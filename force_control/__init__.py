"""Hybrid force/position (admittance) control, wrench filtering, contact detection."""
