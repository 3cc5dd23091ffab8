"""The visible reply over a corpus of real replies (public reply-parser fixtures and Indonesian shapes).

Each case is `NAME.txt` (the decoded text of a reply) and `NAME.expected.txt` (what the sender wrote);
`manifest.json` names the source of each. Exact: the result is the expected text. Acceptable: every
expected line is in the result, plus at most a few leftover lines (a mailing-list footer, a disclaimer).
"""

import json
from pathlib import Path

import pytest

from notifications.mail import strip_quoted

CORPUS = Path(__file__).parent / "fixtures" / "replies"
CASES = sorted(json.loads((CORPUS / "manifest.json").read_text()))
LEFTOVER_LINES = 4


def _lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def judge(name):
    result = strip_quoted((CORPUS / f"{name}.txt").read_text())
    expected = (CORPUS / f"{name}.expected.txt").read_text().strip()
    got = _lines(result)
    missing = [line for line in _lines(expected) if line not in got]
    if missing:
        return "lost", missing
    if result.strip() == expected:
        return "exact", []
    leftover = len(got) - len(_lines(expected))
    return ("acceptable" if leftover <= LEFTOVER_LINES else "too_much_left"), []


def test_the_corpus_holds_at_least_sixty_replies():
    assert len(CASES) >= 60
    for name in CASES:
        assert (CORPUS / f"{name}.expected.txt").exists(), name


@pytest.mark.parametrize("name", CASES)
def test_no_reply_loses_what_the_sender_wrote(name):
    verdict, missing = judge(name)
    assert verdict != "lost", f"{name} lost {missing}"


def test_at_least_95_percent_of_replies_are_exact_or_acceptable():
    verdicts = [judge(name)[0] for name in CASES]
    good = sum(verdict in ("exact", "acceptable") for verdict in verdicts)
    assert good / len(verdicts) >= 0.95, {
        name: v for name, v in zip(CASES, verdicts, strict=True) if v != "exact"
    }
