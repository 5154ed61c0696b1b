"""Screens of the dashboard: the main screen and the help screen."""
