"""/healthz with the database, Redis and a real worker all up."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.worker


def test_with_everything_up_the_answer_is_200(celery_worker_process):
    response = Client().get("/healthz")

    assert response.status_code == 200, celery_worker_process.log()
    assert response.json() == {"database": True, "redis": True, "worker": True}
