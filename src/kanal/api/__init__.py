"""The HTTP API (FastAPI): translates requests into service calls and back."""
