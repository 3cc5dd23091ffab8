"""The report form in steps (what happened, your data, evidence, check your answers), then sent.

django-formtools' SessionWizardView keeps each step's answers in the session (server side, never in
the page); accepted screenshots are kept in the private evidence storage (`tickets.kept_evidence`)
and only their key sits in the session. The last step sends everything through the same intake as the
API (`tickets.intake.receive_report`), with the form's own submission key as idempotency key, so a
double tap creates one ticket.
"""

import uuid

from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from formtools.wizard.views import SessionWizardView

from desk.applicant.report_steps import FILE_FIELDS, STEPS, WhatHappenedForm
from tickets import kept_evidence
from tickets.intake import applicable_fields, receive_report
from tickets.models import Language, PayoutMethod, PreferredChannel, RemedyPreference

SENT_KEY = "report_sent"  # session: submission key -> the confirmation's address, for a double tap
CHOICES = {
    "category": dict(WhatHappenedForm.base_fields["category"].widget.choices),
    "remedy_preference": dict(RemedyPreference.choices),
    "payout_method": dict(PayoutMethod.choices),
    "preferred_channel": dict(PreferredChannel.choices),
    "language": dict(Language.choices),
}


@method_decorator(never_cache, name="dispatch")
class ReportWizard(SessionWizardView):
    form_list = STEPS
    template_name = "tickets/report.html"

    def get(self, request, *args, **kwargs):
        """A new form; `?name=&email=` (the link sent in answer to an email) prefills what that email gave."""
        response = super().get(request, *args, **kwargs)
        prefill = {
            "full_name": request.GET.get("name", "")[:200],
            "email": request.GET.get("email", "")[:254],
        }
        self._set_extra(prefill={key: value for key, value in prefill.items() if value})
        return response

    def post(self, *args, **kwargs):
        sent = self.request.session.get(SENT_KEY, {}).get(self.request.POST.get("check-submission_key", ""))
        if sent:  # the same form sent again (a double tap): the first answer
            return redirect(sent)
        goto = self.request.POST.get("wizard_goto_step")
        if goto and self.storage.current_step:
            self._keep_typed()
            self._set_extra(back_to_check=self.steps.current == "check")  # "Change" returns to the check
        return super().post(*args, **kwargs)

    def render_next_step(self, form, **kwargs):
        if self.storage.extra_data.get("back_to_check"):
            self._set_extra(back_to_check=False)
            self.storage.current_step = "check"
            return self.render(self.get_form("check", data=None), **kwargs)
        return super().render_next_step(form, **kwargs)

    def _set_extra(self, **values):
        extra = self.storage.extra_data
        extra.update(values)
        self.storage.extra_data = extra

    def _keep_typed(self):
        """Going back keeps what was typed on this step, checked again when it is sent forward."""
        current = self.request.POST.get(f"{self.prefix}-current_step", "")
        if current in self.get_form_list() and current != "check":
            form = self.get_form(current, data=self.request.POST)
            self.storage.set_step_data(current, self.get_form_step_data(form))

    # --- the steps' forms ---------------------------------------------------------------------

    def get_form_prefix(self, step=None, form=None):
        return str(step if step is not None else self.steps.current)

    def get_form_initial(self, step):
        if step == "you":
            return {
                "language": get_language() or "id",
                "preferred_channel": PreferredChannel.WHATSAPP,
                **self.storage.extra_data.get("prefill", {}),
            }
        if step == "what":
            return {"remedy_preference": RemedyPreference.QUOTA}
        if step == "check":
            return {"submission_key": self._submission_key()}
        return {}

    def get_form_kwargs(self, step=None):
        step = step or self.steps.current
        kept_key = self.storage.extra_data.get("kept_evidence", "")
        return {
            "answers": self.answers(except_step=step),
            "kept_evidence": kept_evidence.kept(kept_key) if step == "evidence" and kept_key else (),
        }

    def _submission_key(self):
        extra = self.storage.extra_data
        if not extra.get("submission_key"):
            extra["submission_key"] = uuid.uuid4().hex
            self.storage.extra_data = extra
        return extra["submission_key"]

    def answers(self, except_step=None):
        """Every stored step's values by field name (the honeypot and files left out)."""
        values = {}
        for step, form_class in self.get_form_list().items():
            if step == except_step or step == "check":
                continue
            data = self.storage.get_step_data(step)
            if data is None:
                continue
            for name in form_class.base_fields:
                if name in FILE_FIELDS or name == "website":
                    continue
                value = data.get(f"{step}-{name}", "")
                if value not in ("", None):
                    values[name] = value
        return values

    def process_step(self, form):
        data = self.get_form_step_data(form)
        if self.steps.current == "evidence" and form.accepted_evidence:
            extra = self.storage.extra_data
            kept_evidence.discard(extra.get("kept_evidence", ""))
            key, names = kept_evidence.keep(form.accepted_evidence)
            extra.update(kept_evidence=key, kept_names=names)
            self.storage.extra_data = extra
        return data

    def process_step_files(self, form):
        return {}  # screenshots are kept by `process_step`, never in the session

    # --- rendering --------------------------------------------------------------------------

    def render(self, form=None, **kwargs):
        form = form or self.get_form()
        response = super().render(form, **kwargs)
        if form.is_bound and form.errors:
            response.status_code = 400
        return response

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.pop("kept_evidence", None)  # the key stays out of the page
        context["step_title"] = form.title
        context["has_errors"] = form.is_bound and bool(form.errors)
        context["summary"] = error_summary(form) if context["has_errors"] else []
        if self.steps.current == "check":
            context["answers"] = self.summary_of_answers()
        if self.steps.current == "what":
            context["sections"] = WhatHappenedForm.SECTIONS
        return context

    def summary_of_answers(self):
        """What will be sent, step by step, as the check-your-answers page shows it."""
        values = applicable_fields(self.answers())
        shown = []
        for step, form_class in self.get_form_list().items():
            if step == "check":
                continue
            rows = []
            for name, field in form_class.base_fields.items():
                if name == "website":
                    continue
                if name == "evidence":
                    names = self.storage.extra_data.get("kept_names", [])
                    rows.append({"label": field.label, "value": ", ".join(names) or _("None")})
                    continue
                value = values.get(name, "")
                if value in ("", None) and name not in ("description",):
                    continue
                rows.append({"label": field.label, "value": CHOICES.get(name, {}).get(value, value) or "—"})
            shown.append({"step": step, "title": form_class.title, "rows": rows})
        return shown

    # --- sending ----------------------------------------------------------------------------

    def done(self, form_list, form_dict=None, **kwargs):
        check = form_dict["check"]
        submission_key = self._submission_key()
        data = QueryDict(mutable=True)
        for name, value in self.answers().items():
            data[name] = value
        data["consent"] = "true" if check.cleaned_data.get("consent") else "false"
        key = self.storage.extra_data.get("kept_evidence", "")
        outcome = receive_report(
            request=self.request,
            data=data,
            files=MultiValueDict(),
            idempotency_key=f"form:{submission_key}",
            kept_evidence=kept_evidence.kept(key) if key else (),
        )
        if outcome.errors:
            return self._refused(outcome)
        kept_evidence.discard(key)
        address = reverse("report-sent", kwargs={"reference": outcome.ticket_reference})
        address += "?" + urlencode({"token": outcome.body["tracking_token"]})
        sent = self.request.session.get(SENT_KEY, {})
        sent[submission_key] = address
        self.request.session[SENT_KEY] = dict(list(sent.items())[-5:])
        return redirect(address)

    def render_done(self, form, **kwargs):
        try:
            return super().render_done(form, **kwargs)
        except _Refused as refused:  # raised before the wizard forgets the answers
            return refused.response

    def _refused(self, outcome):
        """The intake refused what the steps accepted (a rate limit, a reused key): say so on the last step."""
        form = self.get_form("check", data=self.storage.get_step_data("check"))
        form.is_valid()
        errors = outcome.errors
        if outcome.status == 422:
            extra = self.storage.extra_data
            extra["submission_key"] = uuid.uuid4().hex
            self.storage.extra_data = extra
            errors = {"non_field_errors": [_("This form was sent already. Check it and send it again.")]}
        for messages in errors.values():
            for message in messages:
                form.add_error(None, message)
        response = self.render(form)
        response.status_code = outcome.status
        if outcome.retry_after is not None:
            response["Retry-After"] = str(outcome.retry_after)
        raise _Refused(response)


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


def error_summary(form):
    """The error summary's lines: each field's errors linked to its input (a choice's first option)."""
    lines = [{"anchor": "", "label": "", "message": message} for message in form.non_field_errors()]
    for name in form.fields:
        bound = form[name]
        for message in form.errors.get(name, []):
            anchor = bound.id_for_label or f"{bound.auto_id}_0"
            lines.append({"anchor": anchor, "label": bound.label, "message": message})
    return lines
