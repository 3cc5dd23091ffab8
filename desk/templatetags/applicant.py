"""Template tags of the applicant's pages: form inputs tied to their label, help and errors."""

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def accessible_input(bound):
    """The field's input with `required`/`aria-required` when the step requires it, and
    `aria-describedby` naming its help and its errors, so a screen reader reads them with it."""
    described = []
    if bound.help_text:
        described.append(f"{bound.auto_id}-help")
    if bound.errors:
        described.append(f"{bound.auto_id}-error")
    attrs = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if bound.errors:
        attrs["aria-invalid"] = "true"
    if getattr(bound.field, "is_marked_required", False):
        attrs["required"] = True
        if bound.widget_type != "radioselect":  # a radio's requirement is its group's (the fieldset)
            attrs["aria-required"] = "true"
    return bound.as_widget(attrs=attrs)


@register.filter
def unbroken_brand(text):
    """The brand's "e-Meterai" kept on one line on a phone (never broken at its hyphen)."""
    parts = conditional_escape(text).split("e-Meterai")
    return mark_safe(format_html('<span class="nowrap">{}</span>', "e-Meterai").join(parts))
