"""/healthz without a worker, without Redis and without a database."""

from __future__ import annotations

import socket

import pytest
from django.db import OperationalError
from django.test import Client

from config import health

pytestmark = pytest.mark.django_db


def _unused_redis_url() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_without_a_worker_the_web_still_answers_200_naming_the_worker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": True, "redis": True, "worker": False}


def test_without_a_worker_no_error_is_logged(client, caplog):
    caplog.set_level("WARNING")

    client.get("/healthz")

    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert "no Celery worker answered a ping" in caplog.text


def test_with_redis_down_the_answer_is_503_naming_redis(client, settings):
    settings.REDIS_URL = _unused_redis_url()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"] is False
    assert response.json()["database"] is True


def test_with_the_broker_down_the_worker_reads_as_unreachable(monkeypatch, caplog):
    monkeypatch.setattr(health.celery_app.conf, "broker_url", _unused_redis_url())

    reachable = health.worker_answers()

    assert reachable is False
    assert "the Celery broker did not answer" in caplog.text


def test_with_the_database_down_the_answer_is_503_naming_it(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] is False


def test_with_a_worker_answering_the_answer_is_200(client, monkeypatch):
    monkeypatch.setattr(health, "worker_answers", lambda: True)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": True, "redis": True, "worker": True}


def test_it_answers_any_host_over_http_signed_out(settings):
    settings.ALLOWED_HOSTS = ["candor.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = Client(HTTP_HOST="10.0.0.7:8000").get("/healthz")

    assert response.status_code == 200
    assert set(response.json()) == {"database", "redis", "worker"}
    assert "no-cache" in response["Cache-Control"]


def test_a_post_is_refused(client):
    response = client.post("/healthz")

    assert response.status_code == 405
