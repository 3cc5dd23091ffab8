"""docs/architecture.md against the code: the workflow's table and the layer contract."""

from pathlib import Path

from tickets import workflow

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def test_the_workflow_table_in_the_notes_is_the_one_the_code_declares():
    assert workflow.table() in DOC.read_text(encoding="utf-8")


def test_every_transition_is_declared_with_a_label():
    for name, spec in workflow.transitions().items():
        assert str(spec.declaration.label), name


def test_the_notes_name_the_modules_that_exist():
    root = DOC.parent.parent
    for module in [
        "desk/applicant/pages.py",
        "desk/applicant/api.py",
        "desk/staff_api/tickets.py",
        "desk/staff_api/remedies.py",
        "desk/admin.py",
        "notifications/webhooks.py",
        "tickets/workflow.py",
        "refunds/hooks.py",
        "notifications/hooks.py",
    ]:
        assert f"`{module}`" in DOC.read_text(encoding="utf-8")
        assert (root / module).exists(), module
