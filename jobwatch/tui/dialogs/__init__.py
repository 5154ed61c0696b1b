"""Modal dialogs: the workspace picker and the add-workspace form."""
