"""Text folding for search: what a person types must find what was stored."""

import unicodedata

# Letters whose base is not reachable by Unicode decomposition.
_UNDECOMPOSABLE = str.maketrans(
    {"ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ß": "ss"}
)


def fold(text: str) -> str:
    """Lower-case, strip diacritics and collapse spaces: "Łukasz  Żółć" -> "lukasz zolc"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
