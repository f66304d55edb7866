from __future__ import annotations

import secrets
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessments.portfolio import PortfolioSize, portfolio_generate
from evals.crypto import SecretError, secret_encrypt

DEFAULT = PortfolioSize()


class Command(BaseCommand):
    help = (
        "Create a large made-up workspace (vendors, offerings, runs, assessments with "
        "answers and scores) for benchmarks, and print its login."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Multiply every default count (0.1 makes a tenth of the portfolio).",
        )
        for name in ("vendors", "offerings", "assessments", "runs"):
            parser.add_argument(
                f"--{name}",
                type=int,
                help=f"How many {name} (default {getattr(DEFAULT, name):,} × scale).",
            )
        parser.add_argument("--username", default="portfolio")
        parser.add_argument(
            "--password", help="The owner's password (default: a random one)."
        )
        parser.add_argument("--workspace", default="Generated portfolio")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options) -> None:
        if options["scale"] <= 0:
            raise CommandError("--scale must be above 0.")
        size = DEFAULT.scaled(options["scale"])
        size = PortfolioSize(
            **{
                name: options[name]
                if options[name] is not None
                else getattr(size, name)
                for name in ("vendors", "offerings", "assessments", "runs")
            }
        )
        username = options["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(
                f"A user {username!r} exists already. Choose another --username, or "
                "generate into a fresh database."
            )
        password = options["password"] or secrets.token_urlsafe(12)
        try:
            # One token for every endpoint: the key is made up, never called.
            api_key_encrypted = secret_encrypt("sk-generated-portfolio")
        except SecretError:
            api_key_encrypted = ""

        started = time.perf_counter()
        try:
            summary = portfolio_generate(
                size=size,
                username=username,
                password=password,
                workspace_name=options["workspace"],
                seed=options["seed"],
                api_key_encrypted=api_key_encrypted,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        elapsed = time.perf_counter() - started

        counts = ", ".join(f"{n:,} {name}" for name, n in summary.counts.items())
        steps = ", ".join(f"{name} {s:.1f} s" for name, s in summary.seconds.items())
        self.stdout.write(f"Created {counts} in {elapsed:.1f} s ({steps}).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Workspace {options['workspace']!r} (id {summary.workspace_id}): "
                f"log in as {username!r} with password {password!r}"
            )
        )
