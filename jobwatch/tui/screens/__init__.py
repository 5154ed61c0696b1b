"""Screens of the dashboard: the main screen, the workspace picker and the help screen."""
