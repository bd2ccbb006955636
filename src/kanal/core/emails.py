"""Email addresses: syntax checked (no DNS), domain in IDNA-safe normal form."""

from email_validator import EmailNotValidError, validate_email

from kanal.core.errors import invalid


def normalise_email(address: str, field: str | None = None) -> str:
    """The address as kanal stores it (domain lower-cased, Unicode kept); raise if malformed."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise invalid("email_invalid", field, value=address) from exc
    local, _, domain = result.normalized.rpartition("@")
    return f"{local.lower()}@{domain.lower()}"
