"""Messages people read, by machine code, in Polish (default), Czech and English.

All user-facing wording lives here, so adding a language is adding a column.
"""

from collections.abc import Mapping

LOCALES = ("pl", "cs", "en")
DEFAULT_LOCALE = "pl"

MESSAGES: dict[str, dict[str, str]] = {
    # whole-request errors
    "validation_failed": {
        "pl": "Dane są niepoprawne.",
        "cs": "Údaje nejsou platné.",
        "en": "The data is not valid.",
    },
    "not_found": {
        "pl": "Nie znaleziono: {resource}.",
        "cs": "Nenalezeno: {resource}.",
        "en": "Not found: {resource}.",
    },
    "unauthorized": {
        "pl": "Brak poprawnego klucza API (nagłówek Authorization: Bearer).",
        "cs": "Chybí platný klíč API (hlavička Authorization: Bearer).",
        "en": "A valid API key is required (Authorization: Bearer header).",
    },
    "malformed_request": {
        "pl": "Nie można odczytać treści żądania (oczekiwano JSON).",
        "cs": "Obsah požadavku nelze přečíst (očekáván JSON).",
        "en": "The request body could not be read (JSON expected).",
    },
    "internal_error": {
        "pl": "Błąd wewnętrzny. Spróbuj ponownie później.",
        "cs": "Vnitřní chyba. Zkuste to prosím později.",
        "en": "Internal error. Please try again later.",
    },
    # field problems
    "required": {
        "pl": "To pole jest wymagane.",
        "cs": "Toto pole je povinné.",
        "en": "This field is required.",
    },
    "invalid_value": {
        "pl": "Niepoprawna wartość.",
        "cs": "Neplatná hodnota.",
        "en": "Invalid value.",
    },
    "invalid_type": {
        "pl": "Niepoprawny typ wartości.",
        "cs": "Neplatný typ hodnoty.",
        "en": "Wrong type of value.",
    },
    "invalid_choice": {
        "pl": "Dozwolone wartości: {choices}.",
        "cs": "Povolené hodnoty: {choices}.",
        "en": "Allowed values: {choices}.",
    },
    "too_long": {
        "pl": "Za długie (najwyżej {max} znaków).",
        "cs": "Příliš dlouhé (nejvýše {max} znaků).",
        "en": "Too long (at most {max} characters).",
    },
    "too_short": {
        "pl": "Za krótkie (co najmniej {min} znaków).",
        "cs": "Příliš krátké (nejméně {min} znaků).",
        "en": "Too short (at least {min} characters).",
    },
    "out_of_range": {
        "pl": "Wartość poza zakresem.",
        "cs": "Hodnota mimo rozsah.",
        "en": "Value out of range.",
    },
    "unknown_field": {
        "pl": "Nieznane pole.",
        "cs": "Neznámé pole.",
        "en": "Unknown field.",
    },
    "email_invalid": {
        "pl": "Niepoprawny adres e-mail: {value}.",
        "cs": "Neplatná e-mailová adresa: {value}.",
        "en": "Invalid email address: {value}.",
    },
    "email_duplicate": {
        "pl": "Adres e-mail {value} podano więcej niż raz.",
        "cs": "E-mailová adresa {value} je uvedena vícekrát.",
        "en": "The email address {value} is given more than once.",
    },
    "phone_invalid": {
        "pl": "Niepoprawny numer telefonu: {value}.",
        "cs": "Neplatné telefonní číslo: {value}.",
        "en": "Invalid phone number: {value}.",
    },
    "phone_duplicate": {
        "pl": "Numer telefonu {value} podano więcej niż raz.",
        "cs": "Telefonní číslo {value} je uvedeno vícekrát.",
        "en": "The phone number {value} is given more than once.",
    },
    "locale_unsupported": {
        "pl": "Nieobsługiwany język: {value} (dostępne: pl, cs, en).",
        "cs": "Nepodporovaný jazyk: {value} (k dispozici: pl, cs, en).",
        "en": "Unsupported language: {value} (available: pl, cs, en).",
    },
    "timezone_unknown": {
        "pl": "Nieznana strefa czasowa: {value}.",
        "cs": "Neznámé časové pásmo: {value}.",
        "en": "Unknown time zone: {value}.",
    },
    "region_unknown": {
        "pl": "Nieznany kod kraju: {value}.",
        "cs": "Neznámý kód země: {value}.",
        "en": "Unknown country code: {value}.",
    },
    "external_id_taken": {
        "pl": "Identyfikator zewnętrzny {value} jest już użyty.",
        "cs": "Externí identifikátor {value} je již použit.",
        "en": "The external id {value} is already in use.",
    },
    "branch_unknown": {
        "pl": "Nie ma takiego oddziału.",
        "cs": "Taková pobočka neexistuje.",
        "en": "No such branch.",
    },
    "branch_is_main": {
        "pl": "Nie można usunąć głównego oddziału; najpierw wskaż inny oddział jako główny.",
        "cs": "Hlavní pobočku nelze smazat; nejprve určete jinou pobočku jako hlavní.",
        "en": "The main branch cannot be deleted; make another branch the main one first.",
    },
    "main_branch_required": {
        "pl": "Firma musi mieć dokładnie jeden oddział główny; wskaż inny jako główny.",
        "cs": "Firma musí mít právě jednu hlavní pobočku; určete jinou jako hlavní.",
        "en": "There must be exactly one main branch; make another branch the main one.",
    },
    "partner_unknown": {
        "pl": "Nie ma takiego partnera.",
        "cs": "Takový partner neexistuje.",
        "en": "No such partner.",
    },
    "employee_unknown": {
        "pl": "Nie ma takiego pracownika.",
        "cs": "Takový zaměstnanec neexistuje.",
        "en": "No such employee.",
    },
    "client_unknown": {
        "pl": "Nie ma takiego klienta.",
        "cs": "Takový zákazník neexistuje.",
        "en": "No such client.",
    },
    "cursor_invalid": {
        "pl": "Niepoprawny kursor stronicowania.",
        "cs": "Neplatný stránkovací kurzor.",
        "en": "Invalid pagination cursor.",
    },
    "name_empty": {
        "pl": "Nazwa nie może być pusta.",
        "cs": "Název nesmí být prázdný.",
        "en": "The name must not be empty.",
    },
}


def translate(code: str, locale: str | None, params: Mapping[str, object] | None = None) -> str:
    """The message for ``code`` in ``locale`` (else Polish, then English, then the code)."""
    entry = MESSAGES.get(code)
    if entry is None:
        return code
    template = entry.get(locale or DEFAULT_LOCALE) or entry.get(DEFAULT_LOCALE) or entry["en"]
    try:
        return template.format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return template


def pick_locale(*candidates: str | None) -> str:
    """The first supported locale among candidates (e.g. client's, tenant's), else the default."""
    for candidate in candidates:
        if candidate:
            short = candidate.strip().lower()[:2]
            if short in LOCALES:
                return short
    return DEFAULT_LOCALE
