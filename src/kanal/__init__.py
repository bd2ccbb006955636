"""kanal — a communication hub for service businesses."""

__version__ = "0.1.0"
