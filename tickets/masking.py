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
