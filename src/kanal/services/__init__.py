"""Use cases: one module per capability, each function one transaction (unit of work)."""
