"""Candor's settings with the bench's URLs: the two trivial pages beside the app."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "pages_urls"
