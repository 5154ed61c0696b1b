"""Helpers shared by test modules (not tests themselves): importing them keeps test modules independent of each other."""
