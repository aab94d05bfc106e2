"""Camera model, deprojection, normals, stroke -> skin mapping, calibration maths."""
