"""Automated grader for the TensorFlow course exercises on real-world images."""

__version__ = "0.1.0"
