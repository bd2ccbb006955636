"""Messages of the SMS sending and wallet area, merged into :data:`kanal.core.i18n.MESSAGES`."""

MESSAGES: dict[str, dict[str, str]] = {
    "sms_too_long": {
        "pl": "SMS miałby {segments} części, a ustawienia konta pozwalają na {max_segments}.",
        "cs": "SMS by měla {segments} částí, nastavení účtu dovoluje {max_segments}.",
        "en": "The SMS would have {segments} parts; the account allows {max_segments}.",
    },
    "sms_no_price": {
        "pl": "Cennik nie ma ceny SMS do tego kraju (waluta {currency}).",
        "cs": "Ceník nemá cenu SMS do této země (měna {currency}).",
        "en": "The price list has no SMS price to this country (currency {currency}).",
    },
    "topup_reference_reused": {
        "pl": "Ta referencja doładowania była już użyta z inną kwotą.",
        "cs": "Tento odkaz dobití byl již použit s jinou částkou.",
        "en": "This top-up reference was already used with another amount.",
    },
    "sms_sender_name_not_approved": {
        "pl": "Można używać tylko zatwierdzonej nazwy nadawcy.",
        "cs": "Lze použít jen schválené jméno odesílatele.",
        "en": "Only an approved sender name can be used.",
    },
    "sms_sender_name_no_replies": {
        "pl": "SMS z nazwą nadawcy {name}: odbiorcy nie będą mogli na nie odpowiedzieć.",
        "cs": "SMS se jménem odesílatele {name}: příjemci na ně nebudou moci odpovědět.",
        "en": "SMS from the sender name {name}: recipients will not be able to reply.",
    },
    "sms_gateway_unknown": {
        "pl": "Nie ma takiej bramki SMS: {name}.",
        "cs": "Taková SMS brána neexistuje: {name}.",
        "en": "No such SMS gateway: {name}.",
    },
    "sms_gateway_config_invalid": {
        "pl": "Konfiguracja bramki {kind} wymaga pól: {fields}.",
        "cs": "Nastavení brány {kind} vyžaduje pole: {fields}.",
        "en": "A {kind} gateway needs the fields: {fields}.",
    },
    "sms_gateway_name_taken": {
        "pl": "Bramka o nazwie {name} już istnieje.",
        "cs": "Brána s názvem {name} již existuje.",
        "en": "A gateway named {name} already exists.",
    },
}
