"""What applicants send on WhatsApp besides text and images, made readable: locations and contact cards.

Twilio posts a shared location as form fields (`Latitude`, `Longitude`, `Address`, `Label`, with an
empty `Body`) and a shared contact as a vCard media item (`text/vcard`). Both are stored as text on the
message, language-neutral (an emoji, the facts, a map link), so agents read them like any message.
"""

import re

VCARD_TYPES = {"text/vcard", "text/x-vcard", "text/directory"}
VCARD_MAX_BYTES = 64 * 1024


def location_text(form):
    """The shared location as text, or '' when the message carries none."""
    latitude, longitude = form.get("Latitude", ""), form.get("Longitude", "")
    if not (latitude and longitude):
        return ""
    place = ", ".join(
        part for part in (form.get("Label", "").strip(), form.get("Address", "").strip()) if part
    )
    lines = [f"📍 {place}" if place else f"📍 {latitude}, {longitude}"]
    lines.append(f"https://www.google.com/maps?q={latitude},{longitude}")
    return "\n".join(lines)


def with_location(body, form):
    location = location_text(form)
    return "\n".join(part for part in (body, location) if part)


def is_vcard(content_type):
    return (content_type or "").split(";")[0].strip().lower() in VCARD_TYPES


def _unfold(text):
    return re.sub(r"\r?\n[ \t]", "", text)


def contacts_in_vcard(content):
    """[(name, [phone, ...]), ...] from a vCard file (one or more cards); unknown lines are ignored."""
    text = _unfold(content.decode("utf-8", errors="replace"))
    contacts = []
    name, phones = "", []
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        field = key.split(";")[0].strip().upper()
        if field == "BEGIN":
            name, phones = "", []
        elif field == "FN":
            name = value.strip()
        elif field == "N" and not name:
            parts = [part.strip() for part in value.split(";")]
            name = " ".join(part for part in (parts[1:2] + parts[:1]) if part)
        elif field == "TEL" and value.strip():
            phones.append(value.strip().removeprefix("tel:"))
        elif field == "END":
            if name or phones:
                contacts.append((name, phones))
            name, phones = "", []
    return contacts


def contact_text(content):
    """A shared contact card as text: one line per contact, or '' when the card holds nothing."""
    return "\n".join(
        "👤 " + ": ".join(part for part in (name, ", ".join(phones)) if part)
        for name, phones in contacts_in_vcard(content)
    )
