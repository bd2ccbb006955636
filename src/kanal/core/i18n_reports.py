"""Messages of the reports area, merged into :data:`kanal.core.i18n.MESSAGES` (pl, cs, en)."""

MESSAGES: dict[str, dict[str, str]] = {
    # delivery-report callbacks from SMS gateways
    "callback_forbidden": {
        "pl": "Nieznana bramka lub niepoprawny token w adresie wywołania zwrotnego.",
        "cs": "Neznámá brána nebo neplatný token v adrese zpětného volání.",
        "en": "Unknown gateway, or a wrong token in the callback URL.",
    },
    "callback_signature_invalid": {
        "pl": "Podpis wywołania zwrotnego jest niepoprawny.",
        "cs": "Podpis zpětného volání není platný.",
        "en": "The callback's signature is not valid.",
    },
    "callback_malformed": {
        "pl": "Nie można odczytać raportu doręczenia.",
        "cs": "Doručenku nelze přečíst.",
        "en": "The delivery report could not be read.",
    },
    # the "Sent SMS" report
    "report_period_invalid": {
        "pl": "Niepoprawna data: {value} (RRRR-MM-DD lub data i godzina ISO 8601).",
        "cs": "Neplatné datum: {value} (RRRR-MM-DD nebo datum a čas ISO 8601).",
        "en": "Invalid date: {value} (YYYY-MM-DD or an ISO 8601 date and time).",
    },
    "report_period_order": {
        "pl": "Koniec okresu musi być po jego początku.",
        "cs": "Konec období musí být po jeho začátku.",
        "en": "The end of the period must be after its start.",
    },
    "report_context_incomplete": {
        "pl": "Podaj rodzaj i identyfikator zewnętrzny kontekstu razem.",
        "cs": "Zadejte druh a externí identifikátor kontextu společně.",
        "en": "Give the context's kind and external id together.",
    },
}
