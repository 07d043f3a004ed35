"""What every blueprint reads from the current app: its core services and its clock.

Layer: ``web.services`` (the bottom of ``web``, beside ``web.security`` and ``web.svg``).
``create_app`` stores a ``MugshotExtension`` in ``app.extensions["mugshot"]``; views read it
through ``current_app`` with ``get_services()`` and ``now()``, so no blueprint imports the
factory (``web.app``) and the factory alone knows every blueprint. Imports ``retention.services``
and Flask only: never ``web.app`` or a blueprint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from retention.services import Services

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The production clock: aware UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class MugshotExtension:
    """What views need, stored in ``app.extensions["mugshot"]``."""

    services: Services
    clock: Clock


def extension() -> MugshotExtension:
    """The current app's ``MugshotExtension``."""
    ext = current_app.extensions["mugshot"]
    assert isinstance(ext, MugshotExtension)
    return ext


def get_services() -> Services:
    """The current app's services (engine, session factories, blob store, keyring)."""
    return extension().services


def now() -> dt.datetime:
    """The current app's clock, read once per unit of work by the caller."""
    return extension().clock()
