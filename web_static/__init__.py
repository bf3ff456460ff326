"""Serves the web UI's production build (web/dist) to Envoy, plus the development sign-in."""
