"""Prices and amounts: integer minor units (grosze, haléře, cents), never floats."""

from collections.abc import Mapping

DEFAULT_COUNTRY = "*"
"""The price-list row that covers every country without its own price."""

CURRENCY_BY_LOCALE = {"cs": "CZK"}
"""A new tenant's wallet currency by its language; PLN otherwise (the PL default)."""


def wallet_currency(locale: str) -> str:
    return CURRENCY_BY_LOCALE.get(locale, "PLN")


def segment_price(prices: Mapping[tuple[str, str], int], currency: str, country: str) -> int:
    """The price of one SMS segment to ``country`` in ``currency``.

    Raises ``LookupError`` when the price list has neither the country nor a default.
    """
    price = prices.get((currency, country.upper()))
    if price is None:
        price = prices.get((currency, DEFAULT_COUNTRY))
    if price is None:
        raise LookupError(f"no SMS price for {country} in {currency}")
    return price


def sms_cost(segments: int, price_minor: int) -> int:
    return segments * price_minor


def format_minor(amount: int, currency: str) -> str:
    """12345, "PLN" → "123.45 PLN" (two decimals for every currency kanal bills in)."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d} {currency}"
