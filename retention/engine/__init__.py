"""The retention engine: decisions from facts, fact changes, sweeps, purges and their proof.

Layer: ``retention.engine`` — above ``audit``, ``services``, ``storage``, ``keys`` and ``db``;
the bridge between ``policies`` (pure law) and the database. Holds decisions (facts → pack →
stored next action), fact changes (outcomes, consent, holds, reviews), the purge (crypto-shred,
tombstone, certificate), certificates, pack enactment, reading sealed records, sealing free
text and reasons under a record's or request's data key (``sealing``) and the purpose-gated
gallery export. The sweep that finds due records and acts on them in batches is a
job (``retention.jobs.sweep``).
"""
