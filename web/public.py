"""Public pages: file a removal request, keep a receipt, follow it, answer, reply, download and
read the certificate. No account.

Layer: ``web.public``. Nothing here reveals whether anyone is in the database (invariant 7): filing
never looks at records (clerks match them later), and every submission gets the same page, the
same headers and the same cookies. The reference is a bearer secret: it travels in POST bodies,
never in URLs (which end up in logs and browser history) and never in a cookie — the
confirmation (the receipt) is the response to the POST itself, marked ``no-store``, and the
downloadable receipt and "check my request now" post the reference back from that page.

Every word a member of the public reads is in the templates (``web/templates/public``) or in the
form classes' labels and messages below — fixed strings, never built in Python — marked for
translation (``lazy_gettext`` at import time, ``gettext`` inside a request; see ``web.i18n``).
A page that answers a POST passes ``switch`` to its template, so the language switch posts the
reference back instead of putting it in a link.

Uploads (the evidence file on the request form, a file with an answer or a reply) are read up to
``UPLOAD_CEILING`` so that a file over the 5 MiB evidence limit comes back to the filled form
with the error next to its field; only a body past the ceiling gets the 413 page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Request,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileSize
from sqlalchemy.orm import Session
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from policies import registry
from policies.vocabulary import Jurisdiction, RequestKind
from retention.db.models import Certificate, RemovalRequest, RequestState
from retention.engine import certificates, decisions, sealing
from retention.requests import filing, replies, workflow
from web.security import rate_limited
from web.services import get_services, now

bp = Blueprint("public", __name__)

# Bodies up to this size are read on the upload forms, so an over-size file is answered on
# the form itself (the evidence limit is ``filing.MAX_EVIDENCE_BYTES``).
UPLOAD_CEILING = 64 * 1024 * 1024
UPLOAD_ENDPOINTS = frozenset({"public.file_request", "public.answer", "public.reply"})

JURISDICTIONS = [
    ("GB-ENG", _l("England and Wales")),
    ("US-CA", _l("California")),
    ("US-IL", _l("Illinois")),
    ("US-TX", _l("Texas")),
    ("EU", _l("European Union")),
]
KINDS = [
    ("erasure", _l("Delete my booking photo")),
    ("restriction", _l("Stop it being used, but keep it (restriction)")),
    ("takedown", _l("Take it down from social media")),
]
GROUND_LABELS = {
    "not_charged": _l("I was not charged"),
    "dismissed": _l("The charges were dismissed"),
    "acquitted": _l("I was found not guilty"),
    "conviction_quashed": _l("My conviction was quashed or overturned"),
    "factually_innocent": _l("A court found me factually innocent"),
    "sealed": _l("My record was sealed"),
    "under_18": _l("I was under 18 when the photo was taken"),
    "consent_withdrawn": _l("I gave consent and now withdraw it"),
    "other": _l("Another reason (explain below)"),
}
EVIDENCE_TYPES_MESSAGE = _l("The file must be a PDF, JPEG or PNG.")
EVIDENCE_SIZE_MESSAGE = _l(
    "The file is larger than 5 MB. Choose a smaller file, or send it by post."
)
OTHER_MESSAGE = _l("You chose another reason: explain it here.")
DATE_MESSAGE = _l("Enter your date of birth as year-month-day, for example 1990-03-27.")
# What the core's refusals (``RequestError("field: ...")``) mean to the public, by field.
CORE_MESSAGES = {
    "evidence": EVIDENCE_TYPES_MESSAGE,
    "grounds": _l("Choose at least one reason."),
    "details": _l("Write at most 4000 characters."),
    "text": _l("Write at most 4000 characters."),
}


class UploadRequest(Request):
    """Flask's request, reading up to ``UPLOAD_CEILING`` on the public upload forms (so the form
    can say the file is too big) and the app's ``MAX_CONTENT_LENGTH`` everywhere else."""

    @property
    def max_content_length(self) -> int | None:
        if self.url_rule is not None and self.url_rule.endpoint in UPLOAD_ENDPOINTS:
            return UPLOAD_CEILING
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (accessible: each box has its own label)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IsoDateField(DateField):
    """A date typed as year-month-day in a text box: the one format the hint shows, whatever
    the browser's locale (a date picker would show its own)."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DATE_MESSAGE) from None


def _evidence_field(label: str) -> FileField:
    return FileField(
        label,
        validators=[
            FileAllowed(["pdf", "jpg", "jpeg", "png"], EVIDENCE_TYPES_MESSAGE),
            FileSize(max_size=filing.MAX_EVIDENCE_BYTES, message=EVIDENCE_SIZE_MESSAGE),
        ],
    )


class RequestForm(FlaskForm):
    """The removal request."""

    name = StringField(
        _l("Your full name, as it was when you were arrested"),
        validators=[DataRequired(_l("Enter your full name.")), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    date_of_birth = IsoDateField(
        _l("Date of birth"),
        validators=[InputRequired(DATE_MESSAGE)],
        render_kw={"autocomplete": "bday", "spellcheck": "false", "maxlength": "10"},
    )
    booking_number = StringField(
        _l("Booking or custody number, if you know it"), validators=[Optional(), Length(max=64)]
    )
    jurisdiction = SelectField(_l("Where were you arrested?"), choices=_choices(JURISDICTIONS))
    kind = RadioField(_l("What do you ask for?"), choices=_choices(KINDS), default="erasure")
    grounds = MultiCheckboxField(
        _l("Why should it be removed?"), choices=_choices(list(GROUND_LABELS.items()))
    )
    details = TextAreaField(
        _l("Anything else we should know"), validators=[Optional(), Length(max=filing.MAX_TEXT)]
    )
    contact = StringField(
        _l("How can we reach you? (e-mail, phone or postal address)"),
        validators=[DataRequired(_l("Enter how we can reach you.")), Length(max=200)],
        render_kw={"autocomplete": "email"},
    )
    evidence = _evidence_field(_l("Evidence, if you have it (PDF, JPEG or PNG, up to 5 MB)"))

    def validate_date_of_birth(self, field: DateField) -> None:
        """A date of birth is in the past and plausible."""
        value = field.data
        if value is None:
            return
        today = now().date()
        if value >= today or value.year < 1900:
            raise ValidationError(gettext("Enter your real date of birth."))

    def validate_grounds(self, field: MultiCheckboxField) -> None:
        """At least one ground."""
        if not field.data:
            raise ValidationError(gettext("Choose at least one reason."))

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields, then: "Another reason" needs its explanation (the details field is
        optional on its own, so its own validators stop before this check)."""
        valid = bool(super().validate(extra_validators))
        if "other" in (self.grounds.data or []) and not (self.details.data or "").strip():
            self.details.errors = [*self.details.errors, OTHER_MESSAGE]
            valid = False
        return valid


class ReferenceForm(FlaskForm):
    """Look a request up by its reference."""

    reference = StringField(
        _l("Your request reference"),
        validators=[
            DataRequired(_l("Enter your request reference.")),
            Length(min=20, max=40, message=_l("A reference has 20 letters and numbers.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )


class ReceiptForm(FlaskForm):
    """The reference posted back from the confirmation page (receipt download, status)."""

    reference = HiddenField(validators=[DataRequired()])


class AnswerForm(FlaskForm):
    """The requester's answer when information is asked for, with a file if they have one."""

    reference = HiddenField(validators=[DataRequired()])
    text = TextAreaField(
        _l("Your answer"),
        validators=[DataRequired(_l("Write your answer.")), Length(max=filing.MAX_TEXT)],
    )
    evidence = _evidence_field(_l("A document, if you have one (PDF, JPEG or PNG, up to 5 MB)"))


class ReplyForm(FlaskForm):
    """The requester's reply to a refusal."""

    reference = HiddenField(validators=[DataRequired()])
    text = TextAreaField(
        _l("Your reply"),
        validators=[DataRequired(_l("Write your reply.")), Length(max=filing.MAX_TEXT)],
    )
    evidence = _evidence_field(_l("A document, if you have one (PDF, JPEG or PNG, up to 5 MB)"))


class CertificateForm(FlaskForm):
    """Download or read one certificate of a request."""

    reference = HiddenField(validators=[DataRequired()])
    certificate = HiddenField(validators=[DataRequired()])


def notice_settings() -> dict[str, str | None]:
    """Who runs the site and the data-use notice, from the app's settings (the template words
    the default notice around the operator's name)."""
    return {
        "operator": current_app.config.get("MUGSHOT_PUBLIC_OPERATOR") or None,
        "text": current_app.config.get("MUGSHOT_PUBLIC_NOTICE") or None,
    }


@bp.app_context_processor
def _public_context() -> dict[str, Any]:
    return {"public_notice": notice_settings}


def _core_error(form: FlaskForm, exc: filing.RequestError) -> None:
    """Put a refusal of the core next to its field, in the public wording."""
    field, _, _ = str(exc).partition(": ")
    target = getattr(form, field, None)
    message = CORE_MESSAGES.get(field)
    if target is not None and message is not None:
        target.errors = [*target.errors, message]
    else:
        form.form_errors.append(
            gettext("We could not accept this form. Check it and send it again.")
        )


@bp.get("/")
def index() -> str:
    """What this service does and how to use it."""
    return render_template("public/index.html")


def _read_upload(field: FileField) -> bytes | None:
    data = field.data.read() if field.data else None
    return data or None


@bp.route("/request", methods=["GET", "POST"])
@rate_limited("public_submit")
def file_request() -> tuple[str, int] | str:
    """The removal-request form; the same receipt for everyone, as the POST's own response."""
    form = RequestForm()
    if form.validate_on_submit():
        services = get_services()
        try:
            with services.sessions() as db, db.begin():
                req, reference = filing.file_request(
                    db,
                    services.keyring,
                    services.store,
                    claims=filing.Claims(
                        name=form.name.data or "",
                        date_of_birth=form.date_of_birth.data or dt.date.min,
                        contact=form.contact.data or "",
                        booking_number=(form.booking_number.data or "").strip() or None,
                        details=form.details.data or "",
                    ),
                    kind=RequestKind(form.kind.data),
                    jurisdiction=Jurisdiction(form.jurisdiction.data),
                    grounds=list(form.grounds.data or []),
                    evidence=_read_upload(form.evidence),
                    now=now(),
                )
                view = _receipt_view(req)
        except filing.RequestError as exc:
            _core_error(form, exc)
            return render_template("public/request.html", form=form), 400
        return _filed_page(reference, view)
    status = 400 if form.is_submitted() else 200
    return render_template("public/request.html", form=form), status


def _switch(endpoint: str, **fields: str) -> dict[str, Any]:
    """The language switch of a page that answers a POST: it posts ``fields`` (the reference,
    never in a URL) back to ``endpoint`` with the chosen ``lang``."""
    return {"action": url_for(endpoint), "fields": fields}


def _filed_page(reference: str, view: dict[str, Any]) -> str:
    return render_template(
        "public/filed.html",
        reference=reference,
        view=view,
        switch=_switch("public.receipt_page", reference=reference),
        **_labels(),
    )


def _receipt_view(req: RemovalRequest) -> dict[str, Any]:
    """What a receipt shows: never anything that depends on a match."""
    return {
        "kind": req.kind,
        "jurisdiction": req.jurisdiction,
        "grounds": list(req.grounds),
        "received_on": req.received_on,
        "respond_by": req.respond_by,
        "basis": req.deadline_basis,
    }


def _labels() -> dict[str, Any]:
    return {
        "kinds": dict(KINDS),
        "jurisdictions": dict(JURISDICTIONS),
        "grounds": GROUND_LABELS,
    }


@bp.post("/request/receipt")
@rate_limited("public_status")
def receipt() -> Response:
    """The receipt as a text file to keep (the reference is posted back, never in a URL)."""
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)
    reference = (form.reference.data or "").strip()
    with get_services().readers() as db:
        req = filing.by_reference(db, reference)
        if req is None:
            abort(404)
        view = _receipt_view(req)
    body = render_template("public/receipt.txt", reference=reference, view=view, **_labels())
    response = make_response(body)
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = 'attachment; filename="removal-request-receipt.txt"'
    return response


@bp.post("/request/receipt/page")
@rate_limited("public_status")
def receipt_page() -> str:
    """The receipt page again, for the reference posted back from it: its language switch
    (the same facts the downloadable receipt gives for the same reference)."""
    form = ReceiptForm()
    if not form.validate_on_submit():
        abort(400)
    reference = (form.reference.data or "").strip()
    with get_services().readers() as db:
        req = filing.by_reference(db, reference)
        if req is None:
            abort(404)
        view = _receipt_view(req)
    return _filed_page(reference, view)


def _routes(db: Session, jurisdiction: str) -> list[Any]:
    pack = decisions.PackResolver(db).pack_for(jurisdiction)
    return list(registry.routes_of(pack))


def _status_view(req: RemovalRequest, reference: str) -> dict[str, Any]:
    services = get_services()
    with services.readers() as db:
        certs = workflow.certificates_for(db, req)
        # The requester's own request: its decision reasons are sealed under its key.
        opener = sealing.Opener(db, services.keyring)
        reasons = opener.request(
            req.id, sealing.request_field("decision_reasons"), req.decision_reasons_sealed
        )
        extension_reason = opener.request(
            req.id, sealing.request_field("extension_reason"), req.extension_reason_sealed
        )
        sent = replies.attachments(db, req)
        routes = _routes(db, req.jurisdiction) if req.state == RequestState.DENIED.value else []
    return {
        "reference": reference,
        "state": req.state,
        "received_on": req.received_on,
        "respond_by": req.respond_by,
        "basis": req.deadline_basis,
        "extended_on": req.extension_notice_on,
        "extension_reason": extension_reason,
        "answer_by": req.answer_by,
        "replied_on": req.replied_on,
        # An approval waiting for its second person is not a decision yet: its reasons (which
        # may say "destroyed") are shown once it is confirmed.
        "reasons": None if req.state == RequestState.CONFIRMING.value else reasons,
        "certificates": [c.id for c in certs],
        "kind": req.kind,
        "routes": routes,
        "files_sent": len(sent),
    }


def _status_page(
    req: RemovalRequest,
    reference: str,
    *,
    answer: AnswerForm | None = None,
    reply: ReplyForm | None = None,
    done: str | None = None,
    code: int = 200,
) -> tuple[str, int]:
    return render_template(
        "public/status.html",
        view=_status_view(req, reference),
        answer=answer or AnswerForm(reference=reference, formdata=None),
        reply=reply or ReplyForm(reference=reference, formdata=None),
        cert_form=CertificateForm(reference=reference, formdata=None),
        done=done,
        switch=_switch("public.status", reference=reference),
        **_labels(),
    ), code


@bp.route("/status", methods=["GET", "POST"])
@rate_limited("public_status")
def status() -> tuple[str, int]:
    """Follow a request by its reference (sent in the form body, never the URL)."""
    form = ReferenceForm()
    if form.validate_on_submit():
        reference = (form.reference.data or "").strip()
        with get_services().readers() as db:
            req = filing.by_reference(db, reference)
        if req is None:
            form.reference.errors = [
                gettext("No request has that reference. Check it and try again.")
            ]
            return render_template("public/status_lookup.html", form=form), 404
        return _status_page(req, reference)
    return render_template("public/status_lookup.html", form=form), (
        400 if form.is_submitted() else 200
    )


def _lookup_or_400(reference: str) -> RemovalRequest:
    with get_services().readers() as db:
        req = filing.by_reference(db, reference)
    if req is None:
        abort(400)
    return req


@bp.post("/status/answer")
@rate_limited("public_status")
def answer() -> tuple[str, int]:
    """The requester answers a request for information, with a file if they have one."""
    form = AnswerForm()
    return _send_with_file(form, workflow.answer, RequestState.NEEDS_INFO, "answer", "answered")


@bp.post("/status/reply")
@rate_limited("public_status")
def reply() -> tuple[str, int]:
    """The requester replies to a refusal (asks us to look again), with a file if they have
    one."""
    form = ReplyForm()
    return _send_with_file(form, replies.reply, RequestState.DENIED, "reply", "replied")


def _send_with_file(
    form: Any, send: Callable[..., RemovalRequest], state: RequestState, slot: str, done: str
) -> tuple[str, int]:
    """What the answer and reply forms share: check the form, send its text and file through
    ``send`` (``workflow.answer`` or ``replies.reply``) in one transaction, and show the status
    page — with the form's errors at its ``slot`` when the core refuses, or a 409 when the
    request is no longer in ``state``."""
    reference = (form.reference.data or "").strip()
    if not form.validate_on_submit():
        if form.csrf_token.errors or not reference:
            abort(400)
        return _status_page(_lookup_or_400(reference), reference, code=400, **{slot: form})
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            req = send(
                db,
                services.keyring,
                reference,
                text=form.text.data or "",
                now=now(),
                store=services.store,
                evidence=_read_upload(form.evidence),
            )
    except filing.RequestError as exc:
        req = _lookup_or_400(reference)
        if req.state != state.value:
            return _status_page(req, reference, code=409)
        _core_error(form, exc)
        return _status_page(req, reference, code=400, **{slot: form})
    return _status_page(req, reference, done=done)


def _own_certificate() -> tuple[Certificate, str]:
    """The certificate a posted (reference, certificate id) pair names, or 404."""
    form = CertificateForm()
    if not form.validate_on_submit():
        abort(400)
    reference = (form.reference.data or "").strip()
    with get_services().readers() as db:
        req = filing.by_reference(db, reference)
        cert = db.get(Certificate, form.certificate.data or "")
        if req is None or cert is None or cert.request_reference != req.id:
            abort(404)
        db.expunge(cert)
    return cert, reference


@bp.post("/status/certificate")
@rate_limited("public_status")
def certificate() -> Response:
    """Download a signed deletion certificate of one's own request (JSON)."""
    cert, _ = _own_certificate()
    doc = certificates.document(cert, get_services().keyring.signing_public_key_pem())
    response = make_response(json.dumps(doc, indent=2) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{cert.id}.json"'
    return response


@bp.post("/status/certificate/page")
@rate_limited("public_status")
def certificate_page() -> str:
    """The same certificate as a page to read and print, in plain words."""
    cert, reference = _own_certificate()
    return render_template(
        "public/certificate.html",
        summary=certificates.summary(cert.body),
        cert=cert,
        switch=_switch("public.certificate_page", reference=reference, certificate=cert.id),
        for_you=cert.body.get("requester_reference_sha256") == filing.reference_digest(reference),
    )


@bp.get("/public-key.pem")
def public_key() -> Response:
    """The key that verifies deletion certificates."""
    response = make_response(get_services().keyring.signing_public_key_pem())
    response.mimetype = "application/x-pem-file"
    return response
