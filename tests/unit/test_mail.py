"""kanal.core.mail: every message is parsed back with the standard library's parser."""

import dataclasses
import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanal.core.mail import (
    Attachment,
    OutgoingEmail,
    build_email,
    header_text,
    make_message_id,
    needs_smtputf8,
    references_for,
    smtp_address,
)

BASE = OutgoingEmail(
    from_address="biuro@fixit.pl",
    from_name="FixIT Serwis",
    to=(("Łukasz Żółć", "lukasz@example.pl"),),
    reply_to="r+abc123@reply.fixit.pl",
    subject="Naprawa nr 17/2024 — gotowa do odbioru",
    text="Dzień dobry,\nTwój telefon jest gotowy.\n",
    html=None,
    message_id="<m1@fixit.pl>",
    in_reply_to=None,
    references=(),
    automatic=False,
)


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def text_of(part: MIMEPart) -> str:
    """A text part's content; lines end in CRLF on the wire, in "\\n" for a reader."""
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def utf8(value: str) -> str:
    """A header value read from raw UTF-8 (RFC 6532): the stdlib parser leaves its bytes
    surrogate-escaped in address headers."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8")


def raw_header(raw: bytes, name: str) -> str:
    """One top-level header's value as written, unfolded (CRLF removed)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n ", " ")
    prefix = f"{name}: "
    return next(line[len(prefix) :] for line in head.split("\r\n") if line.startswith(prefix))


def rfc2047_phrase(raw: bytes, name: str) -> str:
    """The display name of a one-mailbox header, decoded by the stdlib's RFC 2047 decoder.

    email.headerregistry keeps the space between two adjacent encoded-words of a name,
    which RFC 2047 6.2 says a reader must drop; email.header.decode_header drops it.
    """
    value = raw_header(raw, name)
    phrase = value[: value.rindex("<")].strip() if value.endswith(">") else ""
    if phrase.startswith('"'):
        return re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return str(make_header(decode_header(phrase)))


def mail(**changes: object) -> OutgoingEmail:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


def header_names(raw: bytes) -> list[str]:
    """The names of the top-level header lines, read straight from the bytes."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if line[:1] not in (" ", "\t")]


def test_plain_text_message_headers_and_body() -> None:
    raw = build_email(BASE, date=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    message = parse(raw)
    assert message["From"] == "FixIT Serwis <biuro@fixit.pl>"
    assert message["To"].addresses[0].display_name == "Łukasz Żółć"
    assert message["To"].addresses[0].addr_spec == "lukasz@example.pl"
    assert message["Reply-To"] == "r+abc123@reply.fixit.pl"
    assert message["Subject"] == BASE.subject
    assert message["Date"] == "Mon, 06 May 2024 07:08:09 +0000"
    assert message["Message-ID"] == "<m1@fixit.pl>"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert text_of(message) == BASE.text
    for header in ("In-Reply-To", "References", "Auto-Submitted", "Bcc", "Cc"):
        assert header not in message
    assert raw.isascii()  # everything non-ASCII is encoded
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_date_defaults_to_now() -> None:
    message = parse(build_email(BASE))
    assert abs((message["Date"].datetime - datetime.now(UTC)).total_seconds()) < 60


def test_html_alternative_is_sanitised() -> None:
    html = (
        '<p style="color:red" onclick="steal()">Hej <b>Ewa</b>, '
        '<a href="https://fixit.pl/o/17" target="_blank">status</a> '
        '<a href="javascript:alert(1)">x</a></p><script>alert(1)</script>'
        "<iframe src='https://evil'></iframe><ul><li>jeden</li></ul>"
    )
    message = parse(build_email(mail(html=html)))
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert text_of(plain) == BASE.text
    assert rich.get_content_type() == "text/html"
    body = text_of(rich)
    assert "<b>Ewa</b>" in body and "<ul><li>jeden</li></ul>" in body
    assert 'href="https://fixit.pl/o/17"' in body
    assert 'rel="noopener noreferrer"' in body
    for gone in ("script", "onclick", "style=", "javascript:", "iframe", "alert"):
        assert gone not in body
    assert "MIME-Version" not in plain and "MIME-Version" not in rich


def test_attachments_with_polish_and_czech_names() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    files = (
        Attachment("Faktura_łódź.pdf", "application/pdf", pdf),
        Attachment("Smlouva_Dvořák_čšř.txt", "text/plain", "Příliš žluťoučký kůň\n".encode()),
        Attachment("../../etc/passwd", "not a type", b"x"),
        Attachment("Zálohový daňový doklad " + "ř" * 80 + ".pdf", "APPLICATION/PDF", b"y"),
    )
    raw = build_email(mail(html="<p>Hej</p>", attachments=files))
    message = parse(raw)
    assert message.get_content_type() == "multipart/mixed"
    body, *attached = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [part.get_filename() for part in attached] == [
        "Faktura_łódź.pdf",
        "Smlouva_Dvořák_čšř.txt",
        "_.._etc_passwd",
        "Zálohový daňový doklad " + "ř" * 80 + ".pdf",
    ]
    assert [part.get_content_type() for part in attached] == [
        "application/pdf",
        "text/plain",
        "application/octet-stream",
        "application/pdf",
    ]
    assert [part.get_payload(decode=True) for part in attached] == [f.data for f in files]
    assert all(part["Content-Transfer-Encoding"] == "base64" for part in attached)
    # RFC 2231 in the raw bytes, not a raw UTF-8 name
    assert b"filename*=utf-8''Faktura_%C5%82%C3%B3d%C5%BA.pdf" in raw


def test_text_only_with_attachment_is_mixed() -> None:
    message = parse(build_email(mail(attachments=(Attachment("a.pdf", "application/pdf", b"1"),))))
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "application/pdf",
    ]


def test_threading_headers() -> None:
    refs = references_for(["<root@x.pl>", "<second@x.pl>"], "<parent@x.pl>")
    message = parse(build_email(mail(in_reply_to="<parent@x.pl>", references=refs)))
    assert message["In-Reply-To"] == "<parent@x.pl>"
    assert message["References"].split() == ["<root@x.pl>", "<second@x.pl>", "<parent@x.pl>"]


def test_long_message_ids_are_folded_never_encoded() -> None:
    long_ids = tuple(f"<{'x' * 200}.{n}@mail.example.com>" for n in range(20))
    raw = build_email(mail(in_reply_to=long_ids[-1], references=long_ids))
    message = parse(raw)
    assert message["References"].split() == list(long_ids)
    assert message["In-Reply-To"] == long_ids[-1]
    head = raw.split(b"\r\n\r\n", 1)[0]
    ids_block = head[head.index(b"In-Reply-To:") : head.index(b"\r\nContent-Type:")]
    assert b"=?" not in ids_block  # never RFC 2047: mail clients would not thread it
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_malformed_parent_ids_are_left_out() -> None:
    message = parse(
        build_email(mail(in_reply_to="<bad id@x>", references=("<ok@x>", "junk with spaces", "<>")))
    )
    assert "In-Reply-To" not in message
    assert message["References"] == "<ok@x>"


def test_auto_submitted() -> None:
    message = parse(build_email(mail(automatic=True)))
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"


def test_extra_headers() -> None:
    message = parse(build_email(mail(headers=(("X-Kanal-Delivery", "dlv_123"),))))
    assert message["X-Kanal-Delivery"] == "dlv_123"


@pytest.mark.parametrize("name", ["Subject", "bcc", "Content-Type", "X Bad", "X:Y", "", "Ż"])
def test_extra_header_names_that_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        build_email(mail(headers=((name, "v"),)))


def test_display_names_with_commas_quotes_and_accents() -> None:
    names = ['Kowalski, Jan "Janek"', "Dvořák, Antonín", "O'Brien (IT)", "Żaneta <ż@x>"]
    to = tuple((name, f"u{n}@example.cz") for n, name in enumerate(names))
    message = parse(build_email(mail(from_name="Serwis, sp. z o.o. — Kraków", to=to)))
    assert [a.display_name for a in message["To"].addresses] == names
    assert [a.addr_spec for a in message["To"].addresses] == [address for _, address in to]
    assert message["From"].addresses[0].display_name == "Serwis, sp. z o.o. — Kraków"


def test_long_names_and_subjects_fold_into_short_lines() -> None:
    name = "Przedsiębiorstwo Handlowo-Usługowe „Żółć i Syn” spółka komandytowa — Łódź"
    subject = "Zlecenie serwisowe " * 12 + "z" * 120
    raw = build_email(mail(from_name=name, to=((name, "a@example.pl"),), subject=subject))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 76
    message = parse(raw)
    assert message["Subject"] == header_text(subject)
    assert rfc2047_phrase(raw, "From") == name
    assert rfc2047_phrase(raw, "To") == name


def test_text_that_looks_encoded_stays_literal() -> None:
    subject = "=?utf-8?q?Hi=0D=0ABcc:_evil@x.com?="
    raw = build_email(mail(subject=subject, from_name=subject))
    message = parse(raw)
    assert message["Subject"] == subject
    assert rfc2047_phrase(raw, "From") == subject


def test_international_domain_is_punycode() -> None:
    email = mail(to=(("Jan", "jan@żółw.pl"),), reply_to="odpowiedz@łódź.pl")
    assert not needs_smtputf8(email)
    raw = build_email(email)
    message = parse(raw)
    assert message["To"].addresses[0].addr_spec == "jan@xn--w-uga1v8h.pl"
    assert (
        message["Reply-To"].addresses[0].domain == "łódź.pl".encode("idna").decode()
    )  # the stdlib codec as a check
    assert raw.isascii()
    assert smtp_address("jan@żółw.pl") == "jan@xn--w-uga1v8h.pl"


def test_non_ascii_local_part_needs_smtputf8() -> None:
    email = mail(to=(("Józef", "józef@żółw.pl"),))
    assert needs_smtputf8(email)
    assert not needs_smtputf8(BASE)
    raw = build_email(email)
    # RFC 6532: the header carries the UTF-8 address as it is
    assert "józef@xn--w-uga1v8h.pl".encode() in raw
    message = parse(raw)
    assert utf8(message["To"].addresses[0].username) == "józef"
    assert utf8(message["To"].addresses[0].display_name) == "Józef"
    assert text_of(message) == BASE.text
    assert smtp_address("józef@żółw.pl") == "józef@xn--w-uga1v8h.pl"
    assert needs_smtputf8(mail(from_address="biuro@fixit.pl", reply_to="ó@x.pl"))


INJECTION = "Hi\r\nBcc: evil@x.com"
INJECTIONS = [
    INJECTION,
    "Hi\nBcc: evil@x.com",
    "Hi\rBcc: evil@x.com",
    "Hi\r\n\r\nBcc: evil@x.com",
    "Hi\u2028Bcc: evil@x.com",
    "Hi\x85Bcc: evil@x.com",
    "Hi\x0bBcc: evil@x.com",
    "Hi\x00\r\nBcc: evil@x.com",
    "Zażółć\r\n Bcc: evil@x.com",
    "=?utf-8?q?Hi=0D=0ABcc:_evil@x.com?=",
    "Hi\r\n\tBcc: evil@x.com",
]
FIELDS = ["subject", "from_name", "to_name", "header_value", "attachment_name"]


def injected(field: str, value: str) -> OutgoingEmail:
    if field == "subject":
        return mail(subject=value)
    if field == "from_name":
        return mail(from_name=value)
    if field == "to_name":
        return mail(to=((value, "a@example.pl"),))
    if field == "header_value":
        return mail(headers=(("X-Kanal-Delivery", value),))
    return mail(attachments=(Attachment(value, "application/pdf", b"1"),))


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", FIELDS)
def test_header_injection_never_creates_a_header(field: str, value: str) -> None:
    raw = build_email(injected(field, value))
    message = parse(raw)
    assert "Bcc" not in message
    assert all(name.lower() != "bcc" for name in header_names(raw))
    for part in message.walk():
        assert "Bcc" not in part
    assert not message.defects


@pytest.mark.parametrize(
    "field",
    ["from_address", "to_address", "reply_to", "message_id"],
)
@pytest.mark.parametrize("value", ["a@x.pl\r\nBcc: evil@x.com", "a@x.pl\nX: y", "a b@x.pl"])
def test_addresses_and_ids_with_line_breaks_are_refused(field: str, value: str) -> None:
    changes: dict[str, object] = {
        "from_address": {"from_address": value},
        "to_address": {"to": (("Ewa", value),)},
        "reply_to": {"reply_to": value},
        "message_id": {"message_id": f"<{value}>"},
    }[field]  # type: ignore[assignment]
    with pytest.raises(ValueError):
        build_email(mail(**changes))


@pytest.mark.parametrize(
    "address", ["", "no-at-sign", "@x.pl", "a@", "a<b@x.pl", "a@x.pl>", "a,b@x.pl", "a@x@y"]
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError):
        build_email(mail(to=((None, address),)))


def test_header_text() -> None:
    assert header_text("  a\r\n\tb  \u2028 c\x00d ") == "a b c d"
    assert header_text("\ud800x") == "\ufffdx"


def test_make_message_id() -> None:
    ids = {make_message_id("fixit.pl") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"<[a-z2-7]{26}@fixit\.pl>", mid) for mid in ids)
    assert make_message_id("żółw.pl").endswith("@xn--w-uga1v8h.pl>")
    with pytest.raises(ValueError):
        make_message_id("x.pl>\r\nBcc: evil@x")


def test_references_for() -> None:
    assert references_for([], "<p@x>") == ("<p@x>",)
    assert references_for(["<a@x>", "b@x"], "<p@x>") == ("<a@x>", "<b@x>", "<p@x>")
    # the parent already listed is not repeated; junk is dropped
    assert references_for(["<a@x>", "<p@x>", "bad id"], "<p@x>") == ("<a@x>", "<p@x>")
    chain = [f"<{n}@x>" for n in range(30)]
    trimmed = references_for(chain, "<p@x>", limit=5)
    assert trimmed == ("<0@x>", "<27@x>", "<28@x>", "<29@x>", "<p@x>")
    assert len(references_for(chain, "<p@x>")) == 20
    with pytest.raises(ValueError):
        references_for(chain, "<p@x>", limit=1)


# Text of every kind: all planes, controls, line separators, combining marks.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
NAME_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=ANY_TEXT, name=NAME_TEXT, body=st.text(max_size=3000), smtputf8=st.booleans())
def test_any_text_round_trips(subject: str, name: str, body: str, smtputf8: bool) -> None:
    address = "józef@example.pl" if smtputf8 else "jozef@example.pl"
    email = mail(subject=subject, from_name=name, to=((name, address),), text=body)
    raw = build_email(email)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    message = parse(raw)
    assert message["Subject"] == header_text(subject)
    assert rfc2047_phrase(raw, "From") == header_text(name)
    assert rfc2047_phrase(raw, "To") == header_text(name)
    if len(header_text(name).encode()) <= 39:  # one encoded-word: the strict parser agrees
        assert utf8(message["To"].addresses[0].display_name) == header_text(name)
    assert utf8(message["To"].addresses[0].username) == address.split("@")[0]
    expected = body.replace("\r\n", "\n").replace("\r", "\n")
    if not expected.endswith("\n"):
        expected += "\n"
    assert text_of(message) == expected
    assert [name for name in header_names(raw)] == [
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    ]


def test_several_reply_to_addresses() -> None:
    message = parse(build_email(mail(reply_to=("biuro@fixit.pl", "k1+tok@mail.kanal.pl"))))
    assert [a.addr_spec for a in message["Reply-To"].addresses] == [
        "biuro@fixit.pl",
        "k1+tok@mail.kanal.pl",
    ]
