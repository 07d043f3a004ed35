"""The ``mugshot`` console script, with the commands that need the web layer (``serve``).

Layer: ``web`` (outermost). ``retention.cli`` defines every other command and never imports
``web``; this module adds ``mugshot serve`` to the same group, so there is still one entry point
for every job.
"""

from __future__ import annotations

import logging

import click

from retention.cli.context import services_of, settings_of, utcnow
from retention.cli.main import cli, init
from retention.cli.main import demo_cmd as demo_command
from retention.cli.main import main as retention_main
from retention.files import replace_private
from retention.services import Services, open_services
from retention.settings import Settings

log = logging.getLogger("mugshot.serve")

DEMO_STAFF = (
    ("demo-clerk", "clerk"),
    ("demo-supervisor", "supervisor"),
    ("demo-auditor", "auditor"),
    ("demo-admin", "admin"),
)


def _demo_staff(services: Services, settings: Settings) -> list[tuple[str, str, str, str]]:
    """Create the demo staff accounts once; returns (username, role, password, TOTP secret)."""
    import secrets as pysecrets

    from retention.accounts import users

    accounts = []
    with services.sessions() as session, session.begin():
        for username, role in DEMO_STAFF:
            if users.get_user(session, username) is not None:
                continue
            password = "demo-" + pysecrets.token_urlsafe(9)
            _, secret = users.create_user(
                session,
                username=username,
                role=role,
                password=password,
                keyring=services.keyring,
                actor=settings.actor,
                now=utcnow(),
            )
            accounts.append((username, role, password, secret))
    return accounts


@cli.command()
@click.option("--demo", is_flag=True, help="Create the data directory, demo data and demo staff.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True)
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduled jobs in this process.")
@click.pass_context
def serve(
    ctx: click.Context, demo: bool, host: str, port: int, threads: int, no_scheduler: bool
) -> None:
    """Run the web app on a production WSGI server (waitress), with the scheduler in the same
    process (the embedded deployment). For several web workers use gunicorn and a separate
    `mugshot scheduler` (see README).

    On SIGTERM or Ctrl-C: stop taking requests (waitress finishes the ones in hand), let a
    running sweep finish its batch and stop, release the scheduler lease, exit 0."""
    import signal
    import threading
    from types import FrameType

    import waitress

    from retention.jobs.scheduler import build_scheduler
    from web import create_app

    settings = settings_of(ctx)
    if demo:
        ctx.invoke(init)
        with services_of(ctx) as services, services.readers() as session:
            from sqlalchemy import func, select

            from retention.db.models import Record

            empty = session.execute(select(func.count()).select_from(Record)).scalar_one() == 0
        if empty:
            ctx.invoke(demo_command, count=200, seed=1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    services = open_services(settings)
    try:
        if demo:
            created = _demo_staff(services, settings)
            if created:
                notes = settings.data_dir / "demo-accounts.txt"
                lines = [f"{u} ({r}): password {p}  TOTP secret {s}" for u, r, p, s in created]
                replace_private(notes, ("\n".join(lines) + "\n").encode())
                click.echo("Demo staff accounts (also in " + str(notes) + "):")
                for line in lines:
                    click.echo("  " + line)
                click.echo(
                    "Add a TOTP secret to an authenticator app (or run `oathtool --totp -b "
                    "SECRET`) for the 6-digit code."
                )
            else:
                click.echo(
                    f"Demo staff accounts exist; see {settings.data_dir / 'demo-accounts.txt'}"
                )
        app = create_app(settings, services=services)
        scheduler = None if no_scheduler else build_scheduler(services, clock=utcnow)
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="mugshot")
        stopping = threading.Event()

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            if stopping.is_set():
                return  # already shutting down: let it finish
            stopping.set()
            log.info("mugshot serve received signal %d; shutting down", signum)
            if scheduler is not None:
                scheduler.request_stop()  # a running sweep stops after the batch in hand
            # waitress's run() catches SystemExit and stops its worker threads (it is how
            # waitress is meant to be stopped); raised anywhere else it still unwinds through
            # the `finally` below, which stops the scheduler and releases the lease.
            raise SystemExit(0)

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if scheduler is not None:
                scheduler.start()
            click.echo(f"Serving on http://{host}:{port}/  (staff: http://{host}:{port}/staff/)")
            server.run()
        finally:
            stopping.set()  # a signal from here on must not cut the shutdown short
            server.close()  # no new connections while the scheduler winds down
            if scheduler is not None:
                scheduler.shutdown()  # waits for the sweep's batch, then releases the lease
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("mugshot serve stopped")
    finally:
        services.close()


def main() -> None:
    """Console-script entry point (``mugshot``)."""
    retention_main()
