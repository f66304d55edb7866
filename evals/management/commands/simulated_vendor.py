from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from evals.simulated import simulated_vendor_serve


class Command(BaseCommand):
    help = (
        "Serve Candor's simulated vendor (scripted models for the demo and tests) "
        "in the foreground until interrupted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=settings.CANDOR_SIMULATED_VENDOR_PORT
        )
        parser.add_argument(
            "--latency-ms",
            type=int,
            default=0,
            help="wait this long before every reply (a model name may override it)",
        )

    def handle(self, *args, **options) -> None:
        host, port = options["host"], options["port"]
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(
            f"Simulated vendor at http://{shown}:{port}/v1 "
            "(scripted replies, no real model). Ctrl-C stops it."
        )
        simulated_vendor_serve(host, port, options["latency_ms"])
