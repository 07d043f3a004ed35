"""The closed vocabularies that records, facts and rule packs share.

Layer: ``policies`` (standard library only). ``retention`` validates imported data against
these enumerations so that a value stored in the database is always one a rule pack can name.
"""

from __future__ import annotations

from enum import StrEnum


class Jurisdiction(StrEnum):
    """Where the record is held and whose law governs it (ISO 3166-2 style codes)."""

    GB_ENG = "GB-ENG"
    US_CA = "US-CA"
    US_IL = "US-IL"
    US_TX = "US-TX"
    EU = "EU"


class Holder(StrEnum):
    """Who holds the data: the law differs for police and for private entities (BIPA, CUBI)."""

    LAW_ENFORCEMENT = "law_enforcement"
    PRIVATE_ENTITY = "private_entity"


class DataKind(StrEnum):
    """What the stored item is."""

    BOOKING_PHOTO = "booking_photo"
    FACE_TEMPLATE = "face_template"
    SOCIAL_MEDIA_POST = "social_media_post"


class OffenceClass(StrEnum):
    """Coarse offence class used by the rules (MoPI groups, CA PC 667.5(c) violent felonies)."""

    VIOLENT = "violent"
    SEXUAL = "sexual"
    SERIOUS = "serious"
    NONVIOLENT = "nonviolent"


class Outcome(StrEnum):
    """Case outcome for the arrest the image was taken for (per offence, not per person)."""

    PENDING = "pending"
    NO_FURTHER_ACTION = "no_further_action"
    NOT_CHARGED = "not_charged"
    DISMISSED = "dismissed"
    ACQUITTED = "acquitted"
    CONVICTED = "convicted"
    CONVICTION_QUASHED = "conviction_quashed"
    FACTUALLY_INNOCENT = "factually_innocent"
    DIVERSION_COMPLETED = "diversion_completed"
    # Caution, youth caution, reprimand or warning: whether the 2017 custody-image Review counts
    # it as a conviction is unverified (RULES.md uk-ci-convicted-definition), so it has its own
    # value instead of being folded into CONVICTED or NO_FURTHER_ACTION.
    CAUTIONED = "cautioned"


class LegalBasis(StrEnum):
    """The legal basis on which the image is held."""

    ARREST = "arrest"
    CONVICTION = "conviction"
    CONSENT = "consent"
    COURT_ORDER = "court_order"
    STATUTE = "statute"


class HoldKind(StrEnum):
    """Why a legal hold was placed (DPA 2018 s.47(2), BIPA 15(a) warrant or subpoena)."""

    EVIDENCE = "evidence"
    LITIGATION = "litigation"
    SUBPOENA = "subpoena"
    # BIPA 15(a) names "a valid warrant or subpoena"; a warrant is kept apart from a subpoena
    # so a pack can name exactly the holds its statute yields to.
    WARRANT = "warrant"


class RequestKind(StrEnum):
    """What a data subject asked for."""

    ERASURE = "erasure"
    RESTRICTION = "restriction"
    TAKEDOWN = "takedown"


class RestrictionGround(StrEnum):
    """Why a data subject asks for restriction instead of erasure (GDPR Art 18(1); DPA 2018
    s.47(3); LED Art 16(3)(a))."""

    # Art 18(1)(a), s.47(3), LED 16(3)(a): accuracy contested, for the time it takes to verify.
    ACCURACY_CONTESTED = "accuracy_contested"
    # Art 18(1)(b): processing is unlawful and the subject opposes erasure.
    UNLAWFUL_OPPOSES_ERASURE = "unlawful_opposes_erasure"
    # Art 18(1)(c): the controller no longer needs the data; the subject needs them for a claim.
    LEGAL_CLAIMS = "legal_claims"
    # Art 18(1)(d): an objection under Art 21(1) is pending.
    OBJECTION_PENDING = "objection_pending"


class DeadlineBasis(StrEnum):
    """Where a request's response date comes from: a statute, or the agency's own service target
    where no statute sets one (shown as "we aim to answer by", never called statutory)."""

    STATUTORY = "statutory"
    SERVICE_TARGET = "service_target"


class ExtensionStatus(StrEnum):
    """Whether the response deadline can be, or has been, extended (one extension at most)."""

    # The law that sets the deadline allows an extension and none has been noticed yet.
    AVAILABLE = "available"
    # A timely notice was recorded: the deadline includes the extension.
    GRANTED = "granted"
    # A notice was recorded after the first deadline: it does not count.
    LATE = "late"
    # No text allows an extension (a service target, or a statute without one).
    NOT_PROVIDED = "not_provided"
    # The text allowing it was not in force on the date the period started.
    NOT_IN_FORCE = "not_in_force"
    # The commencement of the text allowing it is unknown: a person decides (RULES.md §8.7).
    UNVERIFIED = "unverified"


class RouteKind(StrEnum):
    """What a way forward after a refusal is: a complaint to someone else (a regulator), or an
    appeal against the decision (to the agency itself or to a court)."""

    COMPLAINT = "complaint"
    APPEAL = "appeal"


class Action(StrEnum):
    """What a decision says must happen to a record."""

    RETAIN = "retain"
    REVIEW = "review"
    RESTRICT = "restrict"
    PURGE = "purge"


class Purpose(StrEnum):
    """Uses a record may be put to; a decision lists those permitted now."""

    IDENTIFICATION = "identification"
    FACE_RECOGNITION = "face_recognition"
    PUBLICATION = "publication"
    LINEUP = "lineup"
    EVIDENCE = "evidence"
    LEGAL_CLAIMS = "legal_claims"


class PeriodUnit(StrEnum):
    """Units a rule-pack period may be written in."""

    DAYS = "days"
    MONTHS = "months"
    YEARS = "years"


class CalendarConvention(StrEnum):
    """How a period is counted from its trigger date (see ``policies.calendars``)."""

    # Corresponding date, clamped to month end, rolled forward over weekends and public
    # holidays of the jurisdiction (ICO one-month rule; Reg. 1182/71 Art 3).
    MONTHS_ROLL = "months_roll"
    # California: first day excluded, last included, rolled over Sundays and holidays (CCP §12).
    CA_DAYS = "ca_days"
    # Plain anniversary, no roll; a 29 February start falls due on 28 February (RULES.md §8.3).
    ANNIVERSARY = "anniversary"
    # Plain calendar arithmetic where the statute gives no roll (BIPA 15(a)).
    NO_ROLL = "no_roll"


class Authority(StrEnum):
    """What kind of text a rule encodes; policy presumptions yield to statute (RULES.md §8.6)."""

    STATUTE = "statute"
    POLICY = "policy"
    GUIDANCE = "guidance"
    DESIGN = "design"


class SourceType(StrEnum):
    """RULES.md "src" column: where a number came from."""

    PRIMARY = "P"
    OFFICIAL = "O"
    SECONDARY = "S"
    MEMORY = "M"
    # Not a legal figure: a period the controller must choose itself (DPA 2018 s.39, LED Art 5).
    CONTROLLER = "C"


class Confidence(StrEnum):
    """RULES.md "conf" column: how sure we are that the number or wording is exactly right."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
