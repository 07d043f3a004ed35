"""The staff pages: one blueprint per feature, each with its templates beside it.

Holds ``dashboard``, ``requests`` (removal requests), ``records`` (search, detail, reviews,
thumbnails, certificates), ``holds``, ``audit``, ``policy`` (rule packs) and ``users`` (staff
accounts). Each module's ``bp`` keeps its name (``staff_records`` ...) so ``url_for`` endpoints
do not depend on the folder, and is created with ``template_folder="templates"``: the pages live
in ``web/staff/templates/staff/<feature>/``, named ``"staff/<feature>/<page>.html"``; they extend
the shared ``base.html`` and import ``auth/_macros.html`` from ``web/templates/``.

Layer: ``web.staff``, above ``web.auth`` and below ``web.app`` (which registers every ``bp``).
May import ``retention``, ``policies``, ``web.auth``, ``web.services``, ``web.security`` and
``web.svg``; never ``web.app``, ``web.cli``, ``web.public`` or ``web.api``. A staff module may
use another's helpers (``requests`` uses ``records``' pagination) but no module imports this
package's ``__init__`` for anything.
"""
