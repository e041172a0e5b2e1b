"""Shot boundaries: classical and learned detectors."""
