"""The ASGI app of ``antiphon serve``: routes, auth, errors, streaming, settings."""
