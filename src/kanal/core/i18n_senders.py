"""Messages of the senders area, merged into :data:`kanal.core.i18n.MESSAGES` (pl, cs, en)."""

MESSAGES: dict[str, dict[str, str]] = {
    # sender-name requests (seed 000)
    "sender_name_taken": {
        "pl": "Nazwa nadawcy {value} jest już zamówiona lub zatwierdzona.",
        "cs": "Jméno odesílatele {value} je již objednáno nebo schváleno.",
        "en": "The sender name {value} has already been requested or approved.",
    },
    "sender_name_decided": {
        "pl": "O tym wniosku już zdecydowano; nie można go zmienić.",
        "cs": "O této žádosti již bylo rozhodnuto; nelze ji změnit.",
        "en": "This request has already been decided; it cannot be changed.",
    },
    "sender_name_not_submitted": {
        "pl": "Zatwierdzić można tylko wniosek z kompletem dokumentów, który czeka na decyzję.",
        "cs": "Schválit lze jen žádost s kompletními dokumenty, která čeká na rozhodnutí.",
        "en": "Only a request with all its documents, waiting for a decision, can be approved.",
    },
    "document_invalid": {
        "pl": "Plik nie jest poprawnie zakodowany (base64) albo jest pusty.",
        "cs": "Soubor není správně zakódován (base64) nebo je prázdný.",
        "en": "The file is not valid base64, or it is empty.",
    },
    "document_too_large": {
        "pl": "Plik jest za duży (najwyżej {max_mb} MB).",
        "cs": "Soubor je příliš velký (nejvýše {max_mb} MB).",
        "en": "The file is too large (at most {max_mb} MB).",
    },
    "document_content_mismatch": {
        "pl": "Zawartość pliku nie jest typu {content_type}. Prześlij plik PDF, JPEG lub PNG.",
        "cs": "Obsah souboru není typu {content_type}. Nahrajte soubor PDF, JPEG nebo PNG.",
        "en": "The file's content is not {content_type}. Upload a PDF, JPEG or PNG file.",
    },
    "documents_too_many": {
        "pl": "Do wniosku można dołączyć najwyżej {max} plików.",
        "cs": "K žádosti lze připojit nejvýše {max} souborů.",
        "en": "At most {max} files can be attached to a request.",
    },
    # the service staff's tools
    "amount_invalid": {
        "pl": "Niepoprawna kwota: {value} (dodatnia, najwyżej dwa miejsca po przecinku).",
        "cs": "Neplatná částka: {value} (kladná, nejvýše dvě desetinná místa).",
        "en": "Invalid amount: {value} (positive, at most two decimal places).",
    },
    "operator_unauthorized": {
        "pl": "Brak poprawnego tokenu operatora (nagłówek Authorization: Bearer).",
        "cs": "Chybí platný token operátora (hlavička Authorization: Bearer).",
        "en": "A valid operator token is required (Authorization: Bearer header).",
    },
}
