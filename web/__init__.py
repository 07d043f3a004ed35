"""Web layer: the only package that knows HTTP (built in the web-app issue)."""
