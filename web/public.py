"""Public pages: file a removal request, follow it, download the certificate. No account.

Layer: ``web.public``. Nothing here reveals whether anyone is in the database (invariant 7): filing
never looks at records (clerks match them later), and every submission gets the same page.
The reference is a bearer secret: it travels in POST bodies, never in URLs (which end up in
logs and browser history), and is shown once.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from werkzeug.wrappers import Response as WerkzeugResponse
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
from wtforms.widgets import CheckboxInput, ListWidget

from policies.vocabulary import Jurisdiction, RequestKind
from retention.db.models import Certificate, RemovalRequest, RequestState
from retention.engine import sealing
from retention.requests import filing, workflow
from web.security import rate_limited
from web.services import get_services, now

bp = Blueprint("public", __name__)

JURISDICTIONS = [
    ("GB-ENG", "England and Wales"),
    ("US-CA", "California"),
    ("US-IL", "Illinois"),
    ("US-TX", "Texas"),
    ("EU", "European Union"),
]
KINDS = [
    ("erasure", "Delete my booking photo"),
    ("restriction", "Stop it being used, but keep it (restriction)"),
    ("takedown", "Take it down from social media"),
]
GROUND_LABELS = {
    "not_charged": "I was not charged",
    "dismissed": "The charges were dismissed",
    "acquitted": "I was found not guilty",
    "conviction_quashed": "My conviction was quashed or overturned",
    "factually_innocent": "A court found me factually innocent",
    "sealed": "My record was sealed",
    "under_18": "I was under 18 when the photo was taken",
    "consent_withdrawn": "I gave consent and now withdraw it",
    "other": "Another reason (explain below)",
}
STATE_TEXT = {
    RequestState.RECEIVED.value: "Received — waiting for a records clerk",
    RequestState.UNDER_REVIEW.value: "Being reviewed by a records clerk",
    RequestState.NEEDS_INFO.value: "We need more information from you",
    RequestState.CONFIRMING.value: "Approved — waiting for a second approval",
    RequestState.APPROVED.value: "Approved — being carried out",
    RequestState.DENIED.value: "Refused",
    RequestState.COMPLETED.value: "Completed",
}


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (accessible: each box has its own label)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RequestForm(FlaskForm):
    """The removal request."""

    name = StringField(
        "Your full name, as it was when you were arrested",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    date_of_birth = DateField(
        "Date of birth", validators=[InputRequired()], render_kw={"autocomplete": "bday"}
    )
    booking_number = StringField(
        "Booking or custody number, if you know it", validators=[Optional(), Length(max=64)]
    )
    jurisdiction = SelectField("Where were you arrested?", choices=_choices(JURISDICTIONS))
    kind = RadioField("What do you ask for?", choices=_choices(KINDS), default="erasure")
    grounds = MultiCheckboxField(
        "Why should it be removed?", choices=_choices(list(GROUND_LABELS.items()))
    )
    details = TextAreaField(
        "Anything else we should know (optional)", validators=[Optional(), Length(max=4000)]
    )
    contact = StringField(
        "How can we reach you? (e-mail, phone or postal address)",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "email"},
    )
    evidence = FileField(
        "Evidence, if you have it (PDF, JPEG or PNG, up to 5 MB)",
        validators=[FileAllowed(["pdf", "jpg", "jpeg", "png"], "PDF, JPEG or PNG only")],
    )

    def validate_date_of_birth(self, field: DateField) -> None:
        """A date of birth is in the past and plausible."""
        value = field.data
        if value is None:
            return
        today = now().date()
        if value >= today or value.year < 1900:
            raise ValidationError("Enter your real date of birth.")

    def validate_grounds(self, field: MultiCheckboxField) -> None:
        """At least one ground."""
        if not field.data:
            raise ValidationError("Choose at least one reason.")


class ReferenceForm(FlaskForm):
    """Look a request up by its reference."""

    reference = StringField(
        "Your request reference",
        validators=[DataRequired(), Length(min=20, max=40)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class AnswerForm(FlaskForm):
    """The requester's answer when information is asked for."""

    reference = HiddenField(validators=[DataRequired()])
    text = TextAreaField("Your answer", validators=[DataRequired(), Length(max=4000)])


class CertificateForm(FlaskForm):
    """Download one certificate of a request."""

    reference = HiddenField(validators=[DataRequired()])
    certificate = HiddenField(validators=[DataRequired()])


@bp.get("/")
def index() -> str:
    """What this service does and how to use it."""
    return render_template("public/index.html")


@bp.route("/request", methods=["GET", "POST"])
@rate_limited("public_submit")
def file_request() -> tuple[str, int] | WerkzeugResponse:
    """The removal-request form; the same confirmation for everyone."""
    form = RequestForm()
    if form.validate_on_submit():
        evidence = form.evidence.data.read() if form.evidence.data else None
        services = get_services()
        try:
            with services.sessions() as db, db.begin():
                _, reference = filing.file_request(
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
                    evidence=evidence or None,
                    now=now(),
                )
        except filing.RequestError as exc:
            field, _, message = str(exc).partition(": ")
            target = getattr(form, field, None)
            if target is not None and message:
                target.errors = [*target.errors, message]
            else:
                form.form_errors.append(str(exc))
            return render_template("public/request.html", form=form), 400
        session["filed_reference"] = reference
        return redirect(url_for("public.filed"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("public/request.html", form=form), status


@bp.get("/request/filed")
def filed() -> str | WerkzeugResponse:
    """The reference, shown once."""
    reference = session.pop("filed_reference", None)
    if reference is None:
        return redirect(url_for("public.status"))
    return render_template("public/filed.html", reference=reference)


def _status_view(req: RemovalRequest, reference: str) -> dict[str, Any]:
    services = get_services()
    with services.readers() as db:
        certs = workflow.certificates_for(db, req)
        # The requester's own request: its decision reasons are sealed under its key.
        reasons = sealing.Opener(db, services.keyring).request(
            req.id, sealing.request_field("decision_reasons"), req.decision_reasons_sealed
        )
    return {
        "reference": reference,
        "state": STATE_TEXT.get(req.state, req.state),
        "state_code": req.state,
        "received_on": req.received_on,
        "respond_by": req.respond_by,
        # An approval waiting for its second person is not a decision yet: its reasons (which
        # may say "destroyed") are shown once it is confirmed.
        "reasons": None if req.state == RequestState.CONFIRMING.value else reasons,
        "certificates": [c.id for c in certs],
        "kind": dict(KINDS).get(req.kind, req.kind),
    }


@bp.route("/status", methods=["GET", "POST"])
@rate_limited("public_status")
def status() -> tuple[str, int] | str:
    """Follow a request by its reference (sent in the form body, never the URL)."""
    form = ReferenceForm()
    if form.validate_on_submit():
        reference = (form.reference.data or "").strip()
        with get_services().readers() as db:
            req = filing.by_reference(db, reference)
        if req is None:
            form.reference.errors = ["No request has that reference. Check it and try again."]
            return render_template("public/status_lookup.html", form=form), 404
        return render_template(
            "public/status.html",
            view=_status_view(req, reference),
            answer=AnswerForm(reference=reference),
            cert_form=CertificateForm(reference=reference),
        )
    return render_template("public/status_lookup.html", form=form), (
        400 if form.is_submitted() else 200
    )


@bp.post("/status/answer")
@rate_limited("public_status")
def answer() -> tuple[str, int] | str:
    """The requester answers a request for information."""
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    reference = form.reference.data or ""
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            req = workflow.answer(
                db, services.keyring, reference, text=form.text.data or "", now=now()
            )
    except filing.RequestError:
        abort(400)
    return render_template(
        "public/status.html",
        view=_status_view(req, reference),
        answer=AnswerForm(reference=reference),
        cert_form=CertificateForm(reference=reference),
        answered=True,
    )


@bp.post("/status/certificate")
@rate_limited("public_status")
def certificate() -> Response:
    """Download a signed deletion certificate of one's own request."""
    form = CertificateForm()
    if not form.validate_on_submit():
        abort(400)
    services = get_services()
    with services.readers() as db:
        req = filing.by_reference(db, form.reference.data or "")
        cert = db.get(Certificate, form.certificate.data or "")
        if req is None or cert is None or cert.request_reference != req.id:
            abort(404)
        from retention.engine import certificates

        doc = certificates.document(cert, services.keyring.signing_public_key_pem())
    response = make_response(json.dumps(doc, indent=2) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{cert.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/public-key.pem")
def public_key() -> Response:
    """The key that verifies deletion certificates."""
    response = make_response(get_services().keyring.signing_public_key_pem())
    response.mimetype = "application/x-pem-file"
    return response
