"""A real headless Chromium for the dashboard tests and the README screenshots."""
