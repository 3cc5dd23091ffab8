"""How personal numbers appear where the whole number is not needed: lists, exports, notifications."""


def mask(value, *, head=0, tail=4):
    """Hide every digit of `value` but the first `head` and the last `tail`; other characters stay.

    `mask("BCA 1234567890")` -> `BCA ******7890`; `mask(nik, head=4)` -> `3171********0123`.
    """
    value = value or ""
    digits = sum(char.isdigit() for char in value)
    if digits <= head + tail:
        head, tail = 0, min(tail, digits)  # too short to show both ends: only its last digits
    seen, shown = 0, []
    for char in value:
        if char.isdigit():
            seen += 1
            hidden = head < seen <= digits - tail
            shown.append("*" if hidden else char)
        else:
            shown.append(char)
    return "".join(shown)


def mask_nik(nik):
    """A NIK as agents see it in lists: its region code and its last four digits."""
    return mask(nik, head=4)


def mask_email(address):
    """An email address with its name hidden but the first letter: `s***@example.com`."""
    name, at, domain = (address or "").partition("@")
    if not at:
        return mask(address)
    return f"{name[:1]}***@{domain}"


def mask_phone(number):
    """A phone number with its country code and last three digits shown: `+628*******890`."""
    return mask(number, head=3 if (number or "").startswith("+") else 2, tail=3)
