"""Trusted scoring of the saved model: the scorer process (scorer), the batch's shared
scorer (service), the grading's client of either (client), and what they measure
(types)."""
