"""The staff pages: one blueprint per feature, each with its templates beside it.

Holds the features ``dashboard``, ``requests`` (removal requests), ``reviews`` (the disposition
review queue, worked in batches), ``records`` (search, detail, one record's review, the photo,
certificates), ``holds``, ``audit``, ``policy`` (rule packs) and ``users``
(staff accounts), and the helpers they share: ``paging`` (keyset pagination), ``forms`` (date
fields, refusals, posted actions) and ``photos`` (audited reads: the posted reason, the photo
embedded inline).

Each feature's ``bp`` keeps its name (``staff_records`` ...) so ``url_for`` endpoints do not
depend on the folder, and is created with ``template_folder="templates"``: the pages live in
``web/staff/templates/staff/<feature>/``, named ``"staff/<feature>/<page>.html"``; they extend
the shared ``base.html`` and import ``auth/_macros.html`` from ``web/templates/``.

Layer: ``web.staff``, above ``web.auth`` and below ``web.app`` (which registers every ``bp``).
May import ``retention``, ``policies``, ``web.auth``, ``web.services``, ``web.security`` and
``web.svg``; never ``web.app``, ``web.cli``, ``web.public`` or ``web.api``. No feature imports
another: they share only ``paging``, ``forms`` and ``photos`` (import contracts in
``pyproject.toml``).
"""
