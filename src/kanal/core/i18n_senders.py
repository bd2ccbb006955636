"""Messages of the senders area, merged into :data:`kanal.core.i18n.MESSAGES` (pl, cs, en)."""

MESSAGES: dict[str, dict[str, str]] = {}
