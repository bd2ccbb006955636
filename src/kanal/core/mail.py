"""Outgoing email as bytes: headers safe against injection, MIME parts, threading ids.

Pure: the standard library's ``email`` package builds the MIME body, ``nh3`` cleans HTML
and ``idna`` turns international domains into punycode. Nothing here opens a socket.

Every header that carries caller text (addresses, names, subject, ids, extra headers, the
attachment names) is written by this module, not by the ``email`` package: the package
decodes RFC 2047 encoded-words found in the values it is given and then folds the decoded
text, so a subject such as ``=?utf-8?q?Hi=0D=0ABcc:_x@y?=`` came out as a real ``Bcc:``
line (CPython before the CVE-2024-6923 fix, which this interpreter predates).

What ``build_email`` guarantees:

- No header value can start a new header: CR, LF, every other control character and the
  Unicode line separators become spaces in free text (``header_text``); an address or a
  message id that contains them is refused with ``ValueError``.
- Non-ASCII free text is RFC 2047 encoded (base64 encoded-words, whole characters each);
  attachment names are RFC 2231 encoded; bodies are quoted-printable and attachments
  base64, so header lines stay short and no line exceeds 998 octets.
- International domains go out as punycode. A non-ASCII local part cannot be written in
  ASCII at all: then ``needs_smtputf8`` is true and the address is written as UTF-8
  (RFC 6532), for an SMTPUTF8 transaction.
"""

import re
import secrets
from base64 import b32encode, b64encode
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote

import idna
import nh3

__all__ = [
    "Attachment",
    "OutgoingEmail",
    "build_email",
    "header_text",
    "make_message_id",
    "needs_smtputf8",
    "references_for",
    "smtp_address",
]


@dataclass(frozen=True)
class Attachment:
    """A file sent with the message."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything an outgoing message says; ``build_email`` turns it into bytes."""

    from_address: str
    from_name: str | None
    to: tuple[tuple[str | None, str], ...]  # (display name, address)
    reply_to: str | tuple[str, ...] | None  # several: a reply goes to each of them
    subject: str
    text: str
    html: str | None
    message_id: str  # with angle brackets: "<id@domain>"
    in_reply_to: str | None
    references: tuple[str, ...]
    automatic: bool  # True adds "Auto-Submitted: auto-generated"
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # extra headers, e.g. X-Kanal-Delivery


# Control characters (C0, DEL, C1 — NEL among them) and the Unicode line and paragraph
# separators: some mail software breaks lines on any of them, so none may reach a header.
_UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# No whitespace or controls anywhere in an address, and none of the characters that would
# need a quoted local part (kanal never sends to such addresses).
_ADDRESS_FORBIDDEN = re.compile('[\\s\x00-\x1f\x7f-\x9f\u2028\u2029<>()\\[\\],;:\\\\"@]')
_ADDRESS_MAX = 254  # RFC 5321 4.5.3.1.3 (path) less the brackets
_HEADER_NAME = re.compile(r"[!-9;-~]{1,60}")  # RFC 5322 ftext: printable ASCII but ":"
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")  # RFC 5322 atoms and spaces
_MSGID_CORE = re.compile(r"[!-;=?-~]+")  # printable ASCII without space or brackets
_MSGID_MAX = 250  # longer ids are junk; capped, every id fits on one header line

_LINE = 76  # fold header lines here (RFC 2047 6: lines with encoded-words ≤ 76)
_EW_BYTES = 39  # UTF-8 bytes per encoded-word: "=?utf-8?b?" + 52 base64 + "?=" = 64 chars

# Headers build_email writes itself; an extra header may not duplicate or override them.
_OWN_HEADERS = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "X-Auto-Response-Suppress",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Sender",
        "Return-Path",
    )
)

# Ordinary formatting survives; scripts, styles, forms, frames and event handlers do not.
_HTML_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li",
        "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_HTML_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
}
_HTML_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# The MIME body (Content-* headers and parts) comes from the email package with SMTP line
# endings; refold_source="none" keeps the Content-Disposition lines we write ourselves.
_BODY_POLICY = email_policy.SMTP.clone(refold_source="none")


# -- text and addresses ------------------------------------------------------------------


def header_text(value: str) -> str:
    """Free text made safe for a header: controls and line breaks become spaces, runs of
    whitespace one space, no space at either end. This is what a reader gets back."""
    value = _SURROGATE.sub("\ufffd", value)
    return " ".join(_UNSAFE_TEXT.sub(" ", value).split())


def _split_address(address: str) -> tuple[str, str]:
    """(local part, domain in ASCII/punycode); ValueError for anything not a plain address."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > _ADDRESS_MAX:
        raise ValueError(f"not an email address: {address!r}")
    if _ADDRESS_FORBIDDEN.search(local) or _ADDRESS_FORBIDDEN.search(domain):
        # CR/LF land here. An address is refused, never repaired: a changed address would
        # be somebody else.
        raise ValueError(f"email address contains forbidden characters: {address!r}")
    if _SURROGATE.search(address):
        raise ValueError(f"email address is not valid Unicode: {address!r}")
    return local, _ascii_domain(domain)


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"not a valid international domain: {domain!r}") from exc


def smtp_address(address: str) -> str:
    """The address as an SMTP envelope carries it: domain in punycode, local part kept.

    A non-ASCII local part is kept too; such an envelope needs the SMTPUTF8 option.
    """
    local, domain = _split_address(address)
    return f"{local}@{domain}"


def _addresses(email: OutgoingEmail) -> list[str]:
    found = [email.from_address, *(address for _, address in email.to)]
    found.extend(_reply_to(email))
    return found


def needs_smtputf8(email: OutgoingEmail) -> bool:
    """True when an address has a non-ASCII local part (``józef@…``): only SMTPUTF8 can
    carry it, in the envelope and in the headers alike."""
    return any(not address.rpartition("@")[0].isascii() for address in _addresses(email))


# -- message ids -------------------------------------------------------------------------


def make_message_id(domain: str) -> str:
    """A new, unique Message-ID for mail sent from ``domain``: ``<random@domain>``."""
    if not domain or _ADDRESS_FORBIDDEN.search(domain):
        raise ValueError(f"not a domain: {domain!r}")
    # 128 random bits in lower-case base32: unique, and nothing in it needs quoting.
    token = b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()
    return f"<{token}@{_ascii_domain(domain)}>"


def _clean_message_id(value: str) -> str | None:
    """The id with its angle brackets, or None when it is too malformed to send."""
    core = value.strip().removeprefix("<").removesuffix(">")
    if not core or len(core) > _MSGID_MAX or not _MSGID_CORE.fullmatch(core):
        return None
    return f"<{core}>"


def references_for(
    parent_references: Sequence[str], parent_message_id: str, limit: int = 20
) -> tuple[str, ...]:
    """The References of a reply (RFC 5322 3.6.4): the parent's References, then the
    parent's own id. Longer than ``limit``, it keeps the first id (the thread's root) and
    the most recent ones, as mail clients do. Malformed and repeated ids are left out."""
    if limit < 2:
        raise ValueError("limit must keep at least the root and the parent")
    chain: list[str] = []
    for value in (*parent_references, parent_message_id):
        cleaned = _clean_message_id(value)
        if cleaned is not None and cleaned not in chain:
            chain.append(cleaned)
    if len(chain) > limit:
        chain = [chain[0], *chain[len(chain) - limit + 1 :]]
    return tuple(chain)


# -- header writing ----------------------------------------------------------------------


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 base64 encoded-words, each holding whole characters (6.3 of the RFC)."""
    words: list[str] = []
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if chunk and len(chunk) + len(encoded) > _EW_BYTES:
            words.append(f"=?utf-8?b?{b64encode(chunk).decode('ascii')}?=")
            chunk = b""
        chunk += encoded
    if chunk:
        words.append(f"=?utf-8?b?{b64encode(chunk).decode('ascii')}?=")
    return words


def _needs_encoding(text: str) -> bool:
    # "=?" in plain text would be decoded by readers as an encoded-word; a word too long
    # to fold would break the line limit.
    return not text.isascii() or "=?" in text or any(len(w) >= _LINE for w in text.split())


def _unstructured(value: str) -> list[str]:
    text = header_text(value)
    return _encoded_words(text) if _needs_encoding(text) else text.split()


def _phrase(name: str | None) -> list[str]:
    """A display name as header atoms: plain, quoted, or encoded-words."""
    text = header_text(name or "")
    if not text:
        return []
    if _needs_encoding(text):
        return _encoded_words(text)
    if _ATEXT_PHRASE.fullmatch(text):
        return text.split()
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return [quoted] if len(quoted) < _LINE else _encoded_words(text)


def _reply_to(email: OutgoingEmail) -> tuple[str, ...]:
    if email.reply_to is None:
        return ()
    return (email.reply_to,) if isinstance(email.reply_to, str) else email.reply_to


def _mailbox(name: str | None, address: str) -> list[str]:
    local, domain = _split_address(address)
    phrase = _phrase(name)
    return [*phrase, f"<{local}@{domain}>"] if phrase else [f"{local}@{domain}"]


def _mailbox_list(mailboxes: Sequence[tuple[str | None, str]]) -> list[str]:
    atoms: list[str] = []
    for index, (name, address) in enumerate(mailboxes):
        if index:
            atoms[-1] += ","  # the comma rides on the atom before it: never a line start
        atoms.extend(_mailbox(name, address))
    return atoms


def _header(name: str, atoms: Sequence[str]) -> str:
    """``Name: atoms`` folded before an atom whenever the line would pass 76 octets.

    Atoms never contain CR, LF or spaces (each builder above guarantees it), so the only
    line breaks in a header are the folds written here, each followed by a space.
    """
    lines = [f"{name}:"]
    for atom in atoms:
        size = len(lines[-1].encode("utf-8")) + 1 + len(atom.encode("utf-8"))
        if size > _LINE and lines[-1] != f"{name}:":
            lines.append(f" {atom}")
        else:
            lines[-1] += f" {atom}"
    return "\r\n".join(lines) + "\r\n"


def _headers(email: OutgoingEmail, date: datetime) -> Iterator[str]:
    message_id = _clean_message_id(email.message_id)
    if message_id is None or message_id != email.message_id.strip():
        raise ValueError(f"not a message id: {email.message_id!r}")
    yield _header("From", _mailbox(email.from_name, email.from_address))
    if email.to:
        yield _header("To", _mailbox_list(email.to))
    if reply_to := _reply_to(email):
        yield _header("Reply-To", _mailbox_list([(None, address) for address in reply_to]))
    yield _header("Subject", _unstructured(email.subject))
    yield _header("Date", [format_datetime(date)])
    yield _header("Message-ID", [message_id])
    in_reply_to = _clean_message_id(email.in_reply_to) if email.in_reply_to else None
    if in_reply_to is not None:
        yield _header("In-Reply-To", [in_reply_to])
    references = [ref for ref in map(_clean_message_id, email.references) if ref]
    if references:
        yield _header("References", references)
    if email.automatic:
        yield "Auto-Submitted: auto-generated\r\n"
        # Exchange and Outlook honour this one instead: no out-of-office replies to robots.
        yield "X-Auto-Response-Suppress: All\r\n"
    for name, value in email.headers:
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _OWN_HEADERS:
            raise ValueError(f"extra header not allowed: {name!r}")
        yield _header(name, _unstructured(value))


# -- body --------------------------------------------------------------------------------


def _clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(_HTML_TAGS),
        attributes=_HTML_ATTRIBUTES,
        url_schemes=set(_HTML_URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def _body_text(text: str) -> str:
    # One line ending on the wire (CRLF); a lone surrogate could not be encoded at all.
    return _SURROGATE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def _content_type(value: str) -> tuple[str, str]:
    value = value.strip().lower()
    if not _CONTENT_TYPE.fullmatch(value):
        return "application", "octet-stream"
    maintype, _, subtype = value.partition("/")
    # multipart/* cannot be a leaf, and message/* may not be base64 (RFC 2046 5.2.1) while
    # its 8-bit data must not go out raw: such files travel as opaque bytes.
    if maintype in ("multipart", "message"):
        return "application", "octet-stream"
    return maintype, subtype


def _disposition(filename: str) -> str:
    """``attachment; filename*=utf-8''…`` (RFC 2231), continued in sections when long.

    Percent-encoding leaves nothing for a reader to interpret; path separators are replaced
    so a client cannot be led to save outside its folder.
    """
    name = header_text(filename).replace("/", "_").replace("\\", "_").strip(". ")
    pieces = [quote(char, safe="") for char in (name or "attachment")]
    sections: list[str] = []
    current = "utf-8''"
    for piece in pieces:
        if len(current) + len(piece) > 60:
            sections.append(current)
            current = ""
        current += piece
    sections.append(current)
    if len(sections) == 1:
        return f"attachment;\r\n filename*={sections[0]}"
    params = ";\r\n ".join(f"filename*{n}*={section}" for n, section in enumerate(sections))
    return f"attachment;\r\n {params}"


def _body(email: OutgoingEmail) -> bytes:
    """The MIME entity: Content-* headers, a blank line and the parts."""
    body = EmailMessage(policy=_BODY_POLICY)
    body.set_content(_body_text(email.text), subtype="plain", cte="quoted-printable")
    if email.html is not None:
        body.add_alternative(_clean_html(email.html), subtype="html", cte="quoted-printable")
    for attachment in email.attachments:
        maintype, subtype = _content_type(attachment.content_type)
        body.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, disposition="attachment"
        )
        *_, part = body.iter_attachments()
        del part["Content-Disposition"]
        part.set_raw("Content-Disposition", _disposition(attachment.filename))
    # The package stamps MIME-Version on every part; the message carries it once, on top.
    for part in body.walk():
        del part["MIME-Version"]
    return body.as_bytes()


def build_email(email: OutgoingEmail, *, date: datetime | None = None) -> bytes:
    """The message as bytes with CRLF line endings, ready for SMTP DATA.

    ``date`` defaults to now (UTC). Raises ``ValueError`` for a malformed address, message
    id or extra header name; free text is made safe instead (see ``header_text``). The
    bytes are ASCII unless ``needs_smtputf8(email)``.
    """
    head = "".join(_headers(email, date or datetime.now(UTC)))
    return head.encode("utf-8") + b"MIME-Version: 1.0\r\n" + _body(email)
