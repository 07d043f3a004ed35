"""Jobs that run on their own: scheduler, lease, job runs, sweep, janitor, key rotation, status.

Layer: ``retention.jobs`` — above ``requests`` and ``engine``; imports anything below it but
never ``cli`` and never Flask. APScheduler is imported only by ``retention.jobs.scheduler``.
Each job works in batches and leaves a job-run row with its counts: the sweep (acting on due
records through ``retention.engine``), the janitor, key rotation (here rather than in ``keys``:
it rewraps every data key in the database, with audit entries, where ``keys`` holds only key
material).
"""
