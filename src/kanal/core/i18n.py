"""Messages people read, by machine code, in Polish (default), Czech and English.

All user-facing wording lives here, so adding a language is adding a column.
"""

from collections.abc import Mapping

from kanal.core import i18n_reports, i18n_senders, i18n_sms

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
    "forbidden": {
        "pl": "Brak uprawnień do tej operacji.",
        "cs": "K této operaci nemáte oprávnění.",
        "en": "Not allowed.",
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
    # channels: why a channel cannot be used for a recipient (compose, client card)
    "channel_unavailable": {
        "pl": "Kanał {channel} nie jest dostępny.",
        "cs": "Kanál {channel} není k dispozici.",
        "en": "The {channel} channel is not available.",
    },
    "marketing_consent_missing": {
        "pl": "Klient nie wyraził zgody na treści marketingowe.",
        "cs": "Zákazník nedal souhlas s marketingovým obsahem.",
        "en": "The client has not consented to marketing content.",
    },
    "portal_not_active": {
        "pl": "Klient nie aktywował panelu klienta.",
        "cs": "Zákazník neaktivoval zákaznický portál.",
        "en": "The client has not activated the customer portal.",
    },
    "email_not_allowed": {
        "pl": "Wysyłka e-maili do tego klienta jest wyłączona na jego karcie.",
        "cs": "Zasílání e-mailů tomuto zákazníkovi je na jeho kartě vypnuto.",
        "en": "Email to this client is switched off on the client card.",
    },
    "no_email_address": {
        "pl": "Brak adresu e-mail.",
        "cs": "Chybí e-mailová adresa.",
        "en": "No email address.",
    },
    "email_blocked": {
        "pl": "Doręczanie na adres {address} zablokowano po zwrocie: {reason}",
        "cs": "Doručování na adresu {address} bylo zablokováno po nedoručence: {reason}",
        "en": "Delivery to {address} is blocked after a bounce: {reason}",
    },
    "sms_disabled": {
        "pl": "Wysyłka SMS jest wyłączona dla konta.",
        "cs": "Odesílání SMS je pro účet vypnuto.",
        "en": "SMS is switched off for this account.",
    },
    "sms_info_not_allowed": {
        "pl": "Na karcie klienta odznaczono „Wysyłaj SMSy informacyjne”.",
        "cs": "Na kartě zákazníka je vypnuto zasílání informačních SMS.",
        "en": "Informational SMS is switched off on the client card.",
    },
    "no_phone": {
        "pl": "Brak numeru telefonu.",
        "cs": "Chybí telefonní číslo.",
        "en": "No phone number.",
    },
    "phone_not_mobile": {
        "pl": "Numer {phone} nie jest numerem komórkowym.",
        "cs": "Číslo {phone} není mobilní.",
        "en": "The number {phone} is not a mobile number.",
    },
    "insufficient_balance": {
        "pl": "Za mało środków na koncie SMS.",
        "cs": "Nedostatečný zůstatek na SMS účtu.",
        "en": "Insufficient SMS balance.",
    },
    # messages
    "context_unknown": {
        "pl": "Nie ma takiego zlecenia ani zgłoszenia.",
        "cs": "Taková zakázka ani požadavek neexistuje.",
        "en": "No such order or ticket.",
    },
    "attachment_invalid": {
        "pl": "Załącznik nie jest poprawnie zakodowany (base64).",
        "cs": "Příloha není správně zakódována (base64).",
        "en": "The attachment is not valid base64.",
    },
    "attachments_too_large": {
        "pl": "Załączniki są za duże (razem najwyżej {max_mb} MB).",
        "cs": "Přílohy jsou příliš velké (celkem nejvýše {max_mb} MB).",
        "en": "The attachments are too large (at most {max_mb} MB in all).",
    },
    "idempotency_key_reused": {
        "pl": "Ten Idempotency-Key użyto już z inną treścią żądania.",
        "cs": "Tento Idempotency-Key již byl použit s jiným obsahem požadavku.",
        "en": "This Idempotency-Key was already used with a different request body.",
    },
    "mailbox_invalid": {
        "pl": "Nazwa skrzynki może zawierać małe litery, cyfry, kropkę, myślnik i podkreślenie.",
        "cs": "Název schránky smí obsahovat malá písmena, číslice, tečku, pomlčku a podtržítko.",
        "en": "A mailbox name may hold lower-case letters, digits, dot, hyphen and underscore.",
    },
    "mailbox_taken": {
        "pl": "Nazwa skrzynki {value} jest już zajęta.",
        "cs": "Název schránky {value} je již obsazen.",
        "en": "The mailbox name {value} is taken.",
    },
    "smtp_credentials_required": {
        "pl": "Podaj użytkownika i hasło SMTP albo wybierz uwierzytelnianie NONE.",
        "cs": "Zadejte uživatele a heslo SMTP, nebo zvolte ověřování NONE.",
        "en": "Give the SMTP user and password, or choose authentication NONE.",
    },
    "portal_notice_subject": {
        "pl": "Nowa wiadomość od {name}",
        "cs": "Nová zpráva od {name}",
        "en": "New message from {name}",
    },
    "portal_notice_text": {
        "pl": "Masz nową wiadomość w panelu klienta {name}: {subject}\n"
        "Zaloguj się, aby ją przeczytać.",
        "cs": "V zákaznickém portálu {name} máte novou zprávu: {subject}\n"
        "Přihlaste se a přečtěte si ji.",
        "en": "You have a new message in the {name} customer portal: {subject}\n"
        "Sign in to read it.",
    },
    # SMS sender names and numbers (seed 000)
    "sender_name_empty": {
        "pl": "Nazwa nadawcy jest pusta.",
        "cs": "Jméno odesílatele je prázdné.",
        "en": "The sender name is empty.",
    },
    "sender_name_too_long": {
        "pl": "Nazwa nadawcy ma {length} znaków; dozwolone najwyżej {max}.",
        "cs": "Jméno odesílatele má {length} znaků; povoleno je nejvýše {max}.",
        "en": "The sender name has {length} characters; at most {max} are allowed.",
    },
    "sender_name_en_dash": {
        "pl": "Zamiast {characters} użyj zwykłego myślnika „-”: {suggestion}",
        "cs": "Místo {characters} použijte obyčejnou pomlčku „-”: {suggestion}",
        "en": 'Use the plain hyphen "-" instead of {characters}: {suggestion}',
    },
    "sender_name_diacritics": {
        "pl": "Nazwa nadawcy nie może mieć polskich znaków ({characters}): {suggestion}",
        "cs": "Jméno odesílatele nesmí obsahovat diakritiku ({characters}): {suggestion}",
        "en": "The sender name may not contain diacritics ({characters}): {suggestion}",
    },
    "sender_name_bad_characters": {
        "pl": "Niedozwolone znaki: {characters}. Dozwolone: a-z A-Z 0-9 spacja . & @ - + _ ! %",
        "cs": "Nepovolené znaky: {characters}. Povoleno: a-z A-Z 0-9 mezera . & @ - + _ ! %",
        "en": "Characters not allowed: {characters}. Allowed: a-z A-Z 0-9 space . & @ - + _ ! %",
    },
    "sender_name_no_letter": {
        "pl": "Nazwa nadawcy musi zawierać co najmniej jedną literę.",
        "cs": "Jméno odesílatele musí obsahovat aspoň jedno písmeno.",
        "en": "The sender name needs at least one letter.",
    },
    "sender_number_empty": {
        "pl": "Numer nadawcy jest pusty.",
        "cs": "Číslo odesílatele je prázdné.",
        "en": "The sender number is empty.",
    },
    "sender_number_missing_plus": {
        "pl": "Numer nadawcy musi zaczynać się od „+” i kodu kraju.",
        "cs": "Číslo odesílatele musí začínat „+” a kódem země.",
        "en": 'The sender number must start with "+" and the country code.',
    },
    "sender_number_bad_characters": {
        "pl": "Numer nadawcy może zawierać tylko „+” i cyfry.",
        "cs": "Číslo odesílatele smí obsahovat jen „+” a číslice.",
        "en": 'The sender number may hold only "+" and digits.',
    },
    "sender_number_no_digits": {
        "pl": "Numer nadawcy nie zawiera cyfr.",
        "cs": "Číslo odesílatele neobsahuje číslice.",
        "en": "The sender number has no digits.",
    },
    "sender_number_too_long": {
        "pl": "Numer nadawcy może mieć najwyżej 15 cyfr.",
        "cs": "Číslo odesílatele smí mít nejvýše 15 číslic.",
        "en": "The sender number may have at most 15 digits.",
    },
    "sender_number_leading_zero": {
        "pl": "Kod kraju nie może zaczynać się od 0.",
        "cs": "Kód země nesmí začínat 0.",
        "en": "The country code cannot start with 0.",
    },
    # what the SMS counter suggests (B1)
    "sms_replace": {
        "pl": "zamień {characters} na {replacement}: {before} SMS → {after} SMS",
        "cs": "nahraďte {characters} znakem {replacement}: {before} SMS → {after} SMS",
        "en": "replace {characters} with {replacement}: {before} SMS → {after} SMS",
    },
    "sms_remove_invisible": {
        "pl": "usuń niewidoczne znaki {characters}: {before} SMS → {after} SMS",
        "cs": "odstraňte neviditelné znaky {characters}: {before} SMS → {after} SMS",
        "en": "remove the invisible characters {characters}: {before} SMS → {after} SMS",
    },
    "sms_transliterate": {
        "pl": "wysyłaj bez polskich znaków ({characters}): {before} SMS → {after} SMS",
        "cs": "posílejte bez diakritiky ({characters}): {before} SMS → {after} SMS",
        "en": "send without diacritics ({characters}): {before} SMS → {after} SMS",
    },
    "sms_all": {
        "pl": "bez polskich znaków i typograficznych symboli: {before} SMS → {after} SMS",
        "cs": "bez diakritiky a typografických znaků: {before} SMS → {after} SMS",
        "en": "without diacritics and typographic symbols: {before} SMS → {after} SMS",
    },
    "sms_unsupported": {
        "pl": "{characters} wymusza Unicode; bez tych znaków: {before} SMS → {after} SMS",
        "cs": "{characters} vynucuje Unicode; bez těchto znaků: {before} SMS → {after} SMS",
        "en": "{characters} forces Unicode; without them: {before} SMS → {after} SMS",
    },
}

# Areas keep their words in their own modules; every code still needs all three languages.
for _area in (i18n_sms.MESSAGES, i18n_senders.MESSAGES, i18n_reports.MESSAGES):
    MESSAGES.update(_area)


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
