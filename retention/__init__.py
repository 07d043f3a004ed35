"""The retention core: everything the product does, without HTTP.

Layer: middle — imports ``policies``, never ``web``, Flask or werkzeug. Its packages are layered
(``pyproject.toml``'s import contracts enforce it); a package imports only those below it::

    cli                                   the ``mugshot`` command, one module per command group
    jobs                                  scheduler, lease, sweep, janitor, key rotation, status
    requests | accounts | ingest          removal requests; staff users and API tokens; import
    engine                                decisions, fact changes, purge, certificates, export
    audit | services                      the hash-chained audit log; the per-process services
    storage | keys | db                   blob stores, images; keys, crypto; models, sessions
    settings, files, aws, errors          typed settings, private files, boto3 clients, errors

``policies`` (the rule language and its pure evaluator) sits below all of them.
"""
