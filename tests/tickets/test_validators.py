import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tickets.validators import (
    MAX_SERIAL_NUMBERS,
    NIK_PROVINCES,
    normalize_whatsapp,
    parse_serial_numbers,
    validate_nik,
)


def error_code(func, value):
    with pytest.raises(ValidationError) as excinfo:
        func(value)
    return excinfo.value.code


# --- WhatsApp numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "0812-3456-7890",
        "081234567890",
        "+62 812 3456 7890",
        "+62-812-3456-7890",
        "62812 3456 7890",
        "6281234567890",
        "812 3456 7890",
        "(0812) 3456.7890",
        "0812.3456.7890",
        "+62 (0)812 3456 7890",
        "0062 812 3456 7890",
        "  0812 3456 7890\n",
    ],
)
def test_whatsapp_usual_spellings_normalise_to_e164(spelling):
    assert normalize_whatsapp(spelling) == "+6281234567890"


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("0811-234-567", "+62811234567"),
        ("0857 1234 5678", "+6285712345678"),
        ("0896-1234-5678", "+6289612345678"),
    ],
)
def test_whatsapp_other_operators_and_lengths(spelling, expected):
    assert normalize_whatsapp(spelling) == expected


@pytest.mark.parametrize("landline", ["021-5555-1234", "(021) 5555 1234", "+62 21 5555 1234", "0274 512345"])
def test_whatsapp_refuses_landline(landline):
    assert error_code(normalize_whatsapp, landline) == "whatsapp_not_mobile"


@pytest.mark.parametrize(
    "foreign", ["+65 8123 4567", "+1 650 253 0000", "+60 12-345 6789", "0060 12 345 6789"]
)
def test_whatsapp_refuses_foreign_number(foreign):
    assert error_code(normalize_whatsapp, foreign) == "whatsapp_not_indonesian"


@pytest.mark.parametrize(
    "garbage", ["", "   ", "abc", "0812-CALL-ME", "0812", "+628123456789012345", "08123456789012345", "12"]
)
def test_whatsapp_refuses_garbage(garbage):
    assert error_code(normalize_whatsapp, garbage) == "whatsapp_invalid"


_separator = st.sampled_from(["", " ", "-", ".", "  "])


@st.composite
def mobile_spellings(draw):
    """A valid Telkomsel-style mobile (0812 + 8 digits) and one of the ways people write it."""
    subscriber = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    digits = "812" + subscriber
    groups = [digits[:3], digits[3:7], digits[7:]]
    sep = draw(_separator)
    body = sep.join(groups)
    prefix = draw(st.sampled_from(["0", "+62 ", "+62", "62", "", "+62 (0)", "0062 "]))
    if prefix == "0" and draw(st.booleans()):
        return f"({prefix}{groups[0]}) {sep.join(groups[1:])}", "+62" + digits
    return prefix + body, "+62" + digits


@given(mobile_spellings())
def test_whatsapp_any_spelling_of_a_mobile_gives_the_same_e164(case):
    spelling, expected = case
    assert normalize_whatsapp(spelling) == expected


@given(st.text(max_size=30))
def test_whatsapp_never_crashes_on_arbitrary_text(text):
    try:
        result = normalize_whatsapp(text)
    except ValidationError:
        return
    assert result.startswith("+628")


# --- NIK ---------------------------------------------------------------------------------------------

MAN_1990 = "3171010101900001"  # Jakarta Selatan region 3171, born 01-01-1990
WOMAN_1990 = "3171014101900001"  # same date, women add 40 to the day


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        (MAN_1990, MAN_1990),
        ("3171 0101 0190 0001", MAN_1990),
        ("317101.010190.0001", MAN_1990),
        (" 3171-01-010190-0001 ", MAN_1990),
        (WOMAN_1990, WOMAN_1990),
        ("3171013112990001", "3171013112990001"),  # 31-12-1999
        ("3171017112990001", "3171017112990001"),  # woman, 31-12-1999
        ("3171012902000001", "3171012902000001"),  # 29-02-2000: only 2000, not 1900, is a leap year
        ("6571010101900001", "6571010101900001"),  # Kalimantan Utara (2012), missing from stdnum's list
        ("9271010101900001", "9271010101900001"),  # Papua Barat Daya code
    ],
)
def test_nik_valid(spelling, expected):
    assert validate_nik(spelling) == expected


@pytest.mark.parametrize(
    "value",
    ["", "317101010190000", "31710101019000011", "3171O10101900001", "abcdefghijklmnop", "٣١٧١٠١٠١٠١٩٠٠٠٠١"],
)
def test_nik_wrong_length_or_not_digits(value):
    assert error_code(validate_nik, value) == "nik_length"


@pytest.mark.parametrize(
    "value",
    [
        "0071010101900001",
        "2071010101900001",
        "9971010101900001",
        "3771010101900001",
        "3100010101900001",
        "3171000101900001",
    ],
)
def test_nik_unknown_region(value):
    assert error_code(validate_nik, value) == "nik_region"


@pytest.mark.parametrize(
    "value",
    [
        "3171010001900001",  # day 0
        "3171013201900001",  # day 32
        "3171014001900001",  # day 40 (woman, day 0)
        "3171017201900001",  # day 72 (woman, day 32)
        "3171018101900001",  # day 81: stdnum alone would read it as day 1
        "3171010113900001",  # month 13
        "3171010100900001",  # month 0
        "3171013102900001",  # 31-02
        "3171012902010001",  # 29-02-1901 / 2001: no leap year
        "3171016902010001",  # woman, 29-02 of a non-leap year
    ],
)
def test_nik_invalid_birth_date(value):
    assert error_code(validate_nik, value) == "nik_birthdate"


def test_nik_province_list_matches_kemendagri():
    expected = {
        *range(11, 20),
        21,
        *range(31, 37),
        *range(51, 54),
        *range(61, 66),
        *range(71, 77),
        81,
        82,
        *range(91, 97),
    }
    assert NIK_PROVINCES == expected


@given(
    province=st.sampled_from(sorted(NIK_PROVINCES)),
    regency=st.integers(1, 99),
    district=st.integers(1, 99),
    birth=st.dates(),
    woman=st.booleans(),
    serial=st.integers(0, 9999),
)
def test_nik_any_well_formed_number_is_accepted(province, regency, district, birth, woman, serial):
    day = birth.day + (40 if woman else 0)
    nik = f"{province:02}{regency:02}{district:02}{day:02}{birth.month:02}{birth.year % 100:02}{serial:04}"
    assert validate_nik(nik) == nik


# --- e-meterai serial numbers ----------------------------------------------------------------------------

SN1 = "0123456789ABCDEFGHIJKL"
SN2 = "ZZZZZZZZZZ0000000000AB"
SN3 = "1111111111111111111111"


@pytest.mark.parametrize(
    "value",
    [
        f"{SN1},{SN2},{SN3}",
        f"{SN1}, {SN2}; {SN3}",
        f"{SN1}\n{SN2}\r\n{SN3}\n",
        f"  {SN1}   {SN2}\t{SN3}  ",
        f"{SN1.lower()},{SN2},{SN3.lower()}",
        [SN1, SN2, SN3],
        [f"{SN1}, {SN2}", SN3],
        f"{SN1},,{SN2};;\n\n{SN3},",
    ],
)
def test_serial_numbers_separators_and_case(value):
    assert parse_serial_numbers(value) == [SN1, SN2, SN3]


def test_serial_numbers_dedupe_keeps_first_order():
    assert parse_serial_numbers(f"{SN2} {SN1} {SN2.lower()} {SN1}") == [SN2, SN1]


@pytest.mark.parametrize("value", ["", "  , ;\n", [], ["", " "], None])
def test_serial_numbers_at_least_one(value):
    assert error_code(parse_serial_numbers, value) == "serial_required"


def test_serial_numbers_bad_items_are_named():
    short, long_, symbol = "123", SN1 + "X", "0123456789ABCDEFGHIJK-"
    with pytest.raises(ValidationError) as excinfo:
        parse_serial_numbers(f"{SN1}, {short}, {long_}, {symbol}, {SN2}")
    error = excinfo.value
    assert error.code == "serial_invalid"
    message = error.messages[0]
    assert short in message and long_ in message and symbol in message
    assert SN1 + "," not in message and SN2 not in message


def test_serial_numbers_many_bad_items_are_summarised():
    bad = [f"BAD{i}" for i in range(20)] + ["X" * 500]
    with pytest.raises(ValidationError) as excinfo:
        parse_serial_numbers(bad)
    message = excinfo.value.messages[0]
    assert "BAD0" in message and "BAD4" in message and "BAD5" not in message and "(+16)" in message
    assert len(message) < 200


def test_serial_numbers_accepts_up_to_the_limit():
    serials = [f"{i:022d}" for i in range(MAX_SERIAL_NUMBERS)]
    assert parse_serial_numbers("\n".join(serials)) == serials


def test_serial_numbers_refuses_beyond_the_limit():
    serials = [f"{i:022d}" for i in range(MAX_SERIAL_NUMBERS + 1)]
    assert error_code(parse_serial_numbers, ",".join(serials)) == "serial_too_many"


def test_serial_numbers_duplicates_do_not_count_toward_the_limit():
    serials = [f"{i:022d}" for i in range(MAX_SERIAL_NUMBERS)]
    assert len(parse_serial_numbers(serials + serials)) == MAX_SERIAL_NUMBERS


_serial = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=22, max_size=22)


@given(
    serials=st.lists(_serial, min_size=1, max_size=20),
    seps=st.lists(st.sampled_from([",", " ", ";", "\n", ", "])),
)
def test_serial_numbers_round_trip(serials, seps):
    text = ""
    for i, serial in enumerate(serials):
        text += (seps[i % len(seps)] if seps else ",") + serial.lower()
    assert parse_serial_numbers(text) == list(dict.fromkeys(serials))
