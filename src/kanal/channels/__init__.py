"""Outbound channel adapters, one module per provider (the delivery issues fill this)."""
