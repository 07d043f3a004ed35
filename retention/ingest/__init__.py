"""Getting bookings in: the CSV manifest, the import pipeline, single-booking ingest, demo data.

Layer: ``retention.ingest`` — above ``engine`` (every new record is decided as it lands);
imports ``engine``, ``audit``, ``services``, ``storage``, ``keys`` and ``db``. The API's single
booking and the bulk import share ``retention.ingest.bookings``; the demo data set
(``demo`` rows, ``portraits`` drawing) feeds ``mugshot demo`` and the benchmarks.
"""
