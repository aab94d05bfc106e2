"""Real backends and sensors (arms, F/T sensors, frame grabbers, RGB-D cameras) with emulators."""
