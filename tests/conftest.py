from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from accounts.models import Membership
from config.celery import app as celery_app
from tests.factories import MembershipFactory, WorkspaceFactory

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FMTI_FOLDER = SHARED_DATA / "fmti-dec2025"

requires_fmti_data = pytest.mark.skipif(
    not FMTI_FOLDER.is_dir(),
    reason=f"the public index data is not at {FMTI_FOLDER} (../shared is absent)",
)


@pytest.fixture(autouse=True)
def celery_eager():
    """Run tasks in-process for unit tests; tests marked ``worker`` use a real one."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme Robotics")


@pytest.fixture
def owner(workspace):
    return MembershipFactory(workspace=workspace, role=Membership.Role.OWNER).user


@pytest.fixture
def editor(workspace):
    return MembershipFactory(workspace=workspace, role=Membership.Role.EDITOR).user


@pytest.fixture
def viewer(workspace):
    return MembershipFactory(workspace=workspace, role=Membership.Role.VIEWER).user


@pytest.fixture
def outsider(db):
    """Someone who owns a different workspace."""
    return MembershipFactory(role=Membership.Role.OWNER).user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return _client_for(owner)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return _client_for(viewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return _client_for(outsider)


@pytest.fixture
def htmx_headers() -> dict[str, str]:
    return {"HX-Request": "true"}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix, tmp_path_factory
):
    """Keep the SQLite test database in a file, so a worker process can share it."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folder = tmp_path_factory.mktemp("database")
        database.setdefault("TEST", {})["NAME"] = str(folder / "candor-test.sqlite3")


@pytest.fixture
def candor_v1(db):
    """The built-in "Candor v1" framework, loaded (migrate normally did it already)."""
    from assessments.frameworks import framework_load_builtin

    return next(
        framework
        for framework in framework_load_builtin()
        if (framework.key, framework.version) == ("candor", 1)
    )
