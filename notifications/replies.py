"""The applicant's own words in an email reply: quoted history, quote headers and signatures go.

Our own rule rather than mail-parser-reply's, which drops a reply's text after any line starting with a
dash or after "Terima kasih,", loses text written below the quote, and misses many quote headers. This
one errs on keeping: a line goes only when it is quoted (">"), is a recognised quote header, lies below a
header whose history is not ">"-quoted (Outlook pastes it as is), follows the "-- " signature delimiter,
or is a short "Sent from my phone" line. The raw message is always kept beside the result.
"""

import re

# The verb of "On <date>, <name> wrote:" in the languages applicants' and agents' mail clients use.
WROTE = (
    r"wrote|a\s+écrit|schrieb|escribió|escreveu|schreef|ha\s+scritto|skrev|napisał\(a\)|napisała?"
    r"|menulis|kirjoitti|írta|написал\(а\)|написала?|yazdı|έγραψε|書きました|のメッセージ"
)
# The word the header starts with: On, Le, Am, El, Op, Il, Em, Den, Pada, W dniu, Dnia, Kl.
ON = r"On|Le|Am|El|Op|Il|Em|Den|Dne|Pada|W\s+dniu|Dnia|Kl\."
WROTE_HEADER = re.compile(
    rf"^(?:(?:{ON})\s.*|.*\d.*|.*@.*)\b(?:{WROTE})\s*:?$"  # On <date>, <name> wrote:
    rf"|^(?:(?:{ON})\s)?.*\d.*\b(?:{WROTE})\s.*[@<].*:$",  # Am <date> schrieb <name> <addr>:
    re.IGNORECASE,
)
# "2017-11-24 16:32 GMT+01:00 Name <addr>:", "11:00 AM, November 17, 2021, Name <addr>:": a date or a
# time, then an address, then the colon.
DATED_HEADER = re.compile(r"^(?=.*(?:\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b)).{0,160}@[^\s<>]+>?\s*:$")
SEPARATOR = re.compile(
    r"^-*\s*(?:original\s+message|pesan\s+asli|ursprüngliche\s+nachricht|message\s+d'origine"
    r"|mensaje\s+original|oorspronkelijk\s+bericht|messaggio\s+originale|mensagem\s+original"
    r"|forwarded\s+message|pesan\s+(?:yang\s+)?diteruskan|oprindelig\s+meddelelse|alkuperäinen\s+viesti"
    r"|opprinnelig\s+melding|ursprungligt\s+meddelande|wiadomość\s+oryginalna|исходное\s+сообщение"
    r"|original\s+meddelelse|oprindelig\s+besked|message\s+transféré|weitergeleitete\s+nachricht)\s*-*\s*$"
    r"|^begin\s+forwarded\s+message:?$|^awal\s+pesan\s+yang\s+diteruskan:?$",
    re.IGNORECASE,
)
FROM_FIELD = re.compile(
    r"^(?:From|Message\s+du|Von|De|Van|Da|Dari|Od|Fra|Från|Lähettäjä|От|Feladó)\s*:", re.IGNORECASE
)
OTHER_FIELD = re.compile(
    r"^(?:Sent|Date|To|Subject|Cc|Gesendet|Datum|An|Betreff|Envoyé|À|Objet|Enviado|Fecha|Para|Asunto"
    r"|Verzonden|Aan|Onderwerp|Inviato|Data|A|Oggetto|Dikirim|Tanggal|Kepada|Perihal|Subjek|Wysłano|Do"
    r"|Temat|Dato|Sendt|Til|Emne|Skickat|Till|Ämne|Lähetetty|Vastaanottaja|Aihe|Отправлено|Кому|Тема|Дата)\s*:",
    re.IGNORECASE,
)
RULE = re.compile(r"^(?:_{8,}|={3,}|-{8,})$")  # the line some clients draw above the header fields
# "Sent from my iPhone", "Dikirim dari iPhone saya", "Get Outlook for Android": short, no sentence.
SENT_FROM = re.compile(
    r"^(?:sent\s+from|sent\s+via|get\s+outlook\s+for|dikirim\s+dari|envoyé\s+de|von\s+meinem|gesendet\s+von"
    r"|enviado\s+desde|enviado\s+do|verzonden\s+(?:vanaf|met)|inviato\s+da|skickat\s+från|sendt\s+fra"
    r"|envoyé\s+à\s+partir\s+de|wysłane\s+z)\b[^,.;:!?<]{0,60}(?:<[^<>\s]*>)?\.?$",
    re.IGNORECASE,
)
SIGNATURE_DELIMITER = re.compile(r"^(?:-- ?|—+)\s*$")
SIGNATURE_MAX_LINES = 6  # longer text below "-- " is the applicant's, not a signature
HEADER_MAX_LINES = 3  # a client wraps a long "On ... wrote:" over at most three lines


def visible_reply(text):
    """What the sender wrote in this message, without the history they replied to."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sections, current = [], []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _is_quoted(line):
            index = _end_of_quote(lines, index)
        elif (end := _header_end(lines, index)) is not None:
            nothing_above = not any(line.strip() for section in [*sections, current] for line in section)
            if not _quoted_below(lines, end) and not nothing_above:
                break  # unquoted history: everything below the header is the older message
            index = end  # with nothing written above it, what is below the header is all there is
        else:
            current.append(line)
            index += 1
            continue
        sections.append(current)
        current = []
    sections.append(current)
    kept = [
        _without_signature(section, last=position == len(sections) - 1)
        for position, section in enumerate(sections)
    ]
    return "\n\n".join(part for part in (_tidy(section) for section in kept) if part)


def _clean(line):
    """A line as a header test sees it: no bold marks, no Yahoo "--- " lead, single spaces."""
    return " ".join(line.strip().strip("*").strip("- ").replace("*", "").split())


def _is_quoted(line):
    return line.lstrip().startswith(">")


def _end_of_quote(lines, index):
    """The first line after a ">" block (blank lines and lines wrapped out of it belong to it)."""
    while index < len(lines) and (
        _is_quoted(lines[index]) or not lines[index].strip() or _wrapped_out(lines, index)
    ):
        index += 1
    return index


def _wrapped_out(lines, index):
    """A quoted line a client wrapped without ">": lower case, between a long quoted line and another."""
    line, before = lines[index].strip(), lines[index - 1]
    return (
        line[:1].islower()
        and len(before) >= 60
        and _is_quoted(before)
        and index + 1 < len(lines)
        and _is_quoted(lines[index + 1])
    )


def _header_end(lines, index):
    """The line after the quote header that starts at `index`, or None when none starts there."""
    first = _clean(lines[index])
    if RULE.match(lines[index].strip()) and _field_block_at(lines, _next_filled(lines, index + 1)):
        return _field_block_end(lines, _next_filled(lines, index + 1))
    if SEPARATOR.match(lines[index].strip()):
        return index + 1
    if not first:
        return None
    if SEPARATOR.match(first):
        return index + 1
    if _field_block_at(lines, index):
        return _field_block_end(lines, index)
    joined = ""
    for size in range(HEADER_MAX_LINES):
        following = lines[index + size] if index + size < len(lines) else ""
        if not following.strip() or (_is_quoted(following) and following.strip() != ">:"):
            return None
        joined = f"{joined} {_clean(lines[index + size])}".strip()
        if len(joined) < 400 and (WROTE_HEADER.match(joined) or DATED_HEADER.match(joined)):
            return index + size + 1
    return None


def _field_block_at(lines, index):
    """An Outlook-style "From:" line followed, within a few lines (it may wrap), by "Sent:", "To:" ..."""
    if index >= len(lines) or not FROM_FIELD.match(_clean(lines[index])):
        return False
    return any(OTHER_FIELD.match(_clean(line)) for line in lines[index + 1 : index + 5])


def _field_block_end(lines, index):
    """The line after the header fields (a wrapped field continues on the next line): the first blank."""
    while index < len(lines) and lines[index].strip():
        index += 1
    return index


def _next_filled(lines, index):
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _quoted_below(lines, index):
    following = _next_filled(lines, index)
    return following >= len(lines) or _is_quoted(lines[following])


def _without_signature(section, last):
    """A signature goes: all below "-- " at the end of the message, else only a short one below "-- " or
    an em dash; and a last "Sent from my iPhone" line."""
    for position, line in enumerate(section):
        final = last and line.rstrip() == "--"
        if SIGNATURE_DELIMITER.match(line) and (final or _short(section[position + 1 :])):
            section = section[:position]
            break
    filled = [position for position, line in enumerate(section) if line.strip()]
    if filled and SENT_FROM.match(_clean(section[filled[-1]])):
        section = section[: filled[-1]]
    return section


def _short(lines):
    filled = [line for line in lines if line.strip()]
    return len(filled) <= SIGNATURE_MAX_LINES and all(len(line) <= 80 for line in filled)


def _tidy(section):
    """The section's text without trailing spaces and runs of blank lines."""
    text = "\n".join(line.rstrip() for line in section)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
