"""The main window's rooms: actions, results, files, exports, presentation, and their shared settings."""
