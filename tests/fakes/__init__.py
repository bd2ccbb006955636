"""Real local servers that stand in for third-party providers in tests."""
