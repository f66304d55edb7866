"""Every URL of Candor, with who may use it and how to build it from workspace A.

The isolation matrix (test_isolation_matrix.py) walks the project's URL patterns
and fails for any name that is in neither ``URL_CASES`` nor ``PUBLIC_URLS``. To
cover a new URL, add one line to ``URL_CASES``:

    "vendor_detail": UrlCase(pk("vendor"), get=MEMBER),

- the first argument builds the URL's kwargs from a ``World`` (tests/security/
  world.py); ``None`` means a page of the person's current workspace, with no
  object in its path;
- ``get`` and ``post`` say who may use each method: ``MEMBER`` (any role),
  ``WRITER`` (owner or editor), ``OWNER``; leave a method out when the view does
  not accept it (the matrix checks that it answers 405);
- ``data`` builds what an allowed POST sends (a refused one sends the same);
- ``why`` explains a rule that surprises (a viewer allowed to POST, say).

A URL that people reach without logging in goes in ``PUBLIC_URLS`` with the
reason it is public.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from tests.security.world import World


class Access(IntEnum):
    """The lowest role that may use a method; roles rank viewer < editor < owner."""

    MEMBER = 0
    WRITER = 1
    OWNER = 2


MEMBER, WRITER, OWNER = Access.MEMBER, Access.WRITER, Access.OWNER
ROLE_RANK = {"viewer": 0, "editor": 1, "owner": 2}

KwargsBuilder = Callable[[World], dict]


def _no_data(world: World) -> dict:
    return {}


@dataclass(frozen=True)
class UrlCase:
    kwargs: KwargsBuilder | None
    get: Access | None = None
    post: Access | None = None
    data: Callable[[World], dict] = _no_data
    why: str = ""

    def methods(self) -> dict[str, Access]:
        allowed = {"GET": self.get, "POST": self.post}
        return {
            method: access for method, access in allowed.items() if access is not None
        }

    @property
    def is_object_url(self) -> bool:
        return self.kwargs is not None


def pk(attribute: str) -> KwargsBuilder:
    """Kwargs ``{"pk": world.<attribute>.pk}``."""
    return lambda world: {"pk": getattr(world, attribute).pk}


def extra_pk(name: str) -> KwargsBuilder:
    """Kwargs ``{"pk": world.extra[name].pk}``, for objects other features add."""
    return lambda world: {"pk": world.extra[name].pk}


WORKSPACE_PAGE = None

URL_CASES: dict[str, UrlCase] = {
    # accounts
    "logout": UrlCase(
        WORKSPACE_PAGE, post=MEMBER, why="anyone logged in may log themselves out"
    ),
    # vendors
    "home": UrlCase(WORKSPACE_PAGE, get=MEMBER),
    "vendor_list": UrlCase(WORKSPACE_PAGE, get=MEMBER),
    "vendor_create": UrlCase(WORKSPACE_PAGE, get=WRITER, post=WRITER),
    "vendor_detail": UrlCase(pk("vendor"), get=MEMBER),
    "vendor_edit": UrlCase(pk("vendor"), get=WRITER, post=WRITER),
    "vendor_archive": UrlCase(pk("vendor"), post=WRITER),
    "vendor_unarchive": UrlCase(pk("vendor"), post=WRITER),
    "offering_create": UrlCase(pk("vendor"), get=WRITER, post=WRITER),
    "offering_detail": UrlCase(pk("offering"), get=MEMBER),
    "offering_edit": UrlCase(pk("offering"), get=WRITER, post=WRITER),
    "offering_archive": UrlCase(pk("offering"), post=WRITER),
    "offering_unarchive": UrlCase(pk("offering"), post=WRITER),
    # assessments
    "evidence_import": UrlCase(WORKSPACE_PAGE, get=MEMBER, post=WRITER),
    "evidence_import_detail": UrlCase(pk("evidence_import"), get=MEMBER),
    "assessment_create": UrlCase(pk("offering"), get=WRITER, post=WRITER),
    "assessment_detail": UrlCase(pk("assessment"), get=MEMBER),
    "answer_save": UrlCase(
        lambda world: {"pk": world.assessment.pk, "question_key": world.question.key},
        post=WRITER,
        data=lambda world: {"version": world.answer.version, "value": "x"},
    ),
    "answer_history": UrlCase(
        lambda world: {"pk": world.assessment.pk, "question_key": world.question.key},
        get=MEMBER,
    ),
    "assessment_edit": UrlCase(pk("assessment"), get=WRITER, post=WRITER),
    "assessment_reopen": UrlCase(pk("assessment"), post=WRITER),
    # evals
    "endpoint_edit": UrlCase(pk("offering"), get=WRITER, post=WRITER),
    "endpoint_test": UrlCase(pk("offering"), post=WRITER),
    "judge_list": UrlCase(WORKSPACE_PAGE, get=MEMBER),
    "judge_create": UrlCase(WORKSPACE_PAGE, get=WRITER, post=WRITER),
    "judge_edit": UrlCase(pk("judge"), get=WRITER, post=WRITER),
    "run_list": UrlCase(pk("offering"), get=MEMBER),
    "run_create": UrlCase(pk("offering"), get=WRITER, post=WRITER),
    "run_detail": UrlCase(pk("run"), get=MEMBER),
    "run_progress": UrlCase(pk("run"), get=MEMBER),
    "run_cancel": UrlCase(pk("run"), post=WRITER),
    "sample_detail": UrlCase(pk("sample"), get=MEMBER),
    # dashboards
    "assessment_dashboard": UrlCase(pk("assessment"), get=MEMBER),
    "report_create": UrlCase(
        pk("assessment"),
        post=MEMBER,
        why="a PDF is a way of reading the assessment, so viewers may ask for one",
    ),
    "report_status": UrlCase(pk("report"), get=MEMBER),
    "report_download": UrlCase(pk("report"), get=MEMBER),
    # teams
    "members": UrlCase(WORKSPACE_PAGE, get=OWNER),
    "member_role_change": UrlCase(
        extra_pk("editor_membership"), post=OWNER, data=lambda w: {"role": "viewer"}
    ),
    "member_remove": UrlCase(extra_pk("editor_membership"), post=OWNER),
    "invitation_create": UrlCase(
        WORKSPACE_PAGE,
        post=OWNER,
        data=lambda w: {"email": "another@example.com", "role": "editor"},
    ),
    "invitation_revoke": UrlCase(extra_pk("invitation"), post=OWNER),
    "workspace_switch": UrlCase(
        WORKSPACE_PAGE,
        post=MEMBER,
        data=lambda w: {"workspace": w.workspace.pk},
        why="anyone may switch among their own workspaces; the service checks "
        "membership (tested on its own in test_isolation_matrix)",
    ),
    # vendor links, the founder's side
    "vendor_links": UrlCase(pk("assessment"), get=MEMBER),
    "vendor_link_create": UrlCase(pk("assessment"), get=WRITER, post=WRITER),
    "vendor_link_revoke": UrlCase(
        lambda w: {"pk": w.assessment.pk, "link_pk": w.extra["vendor_link"].pk},
        post=WRITER,
    ),
    "vendor_response_accept": UrlCase(
        lambda w: {"pk": w.assessment.pk, "response_pk": w.extra["vendor_response"].pk},
        post=WRITER,
    ),
    "vendor_response_follow_up": UrlCase(
        lambda w: {"pk": w.assessment.pk, "response_pk": w.extra["vendor_response"].pk},
        post=WRITER,
        data=lambda w: {"follow_up": "Which data sets exactly?"},
    ),
}


@dataclass(frozen=True)
class PublicUrl:
    """A URL reached without logging in, and why that is safe."""

    reason: str
    kwargs: KwargsBuilder | None = None
    get: bool = True
    post: bool = False
    data: Callable[[World], dict] = _no_data


def extra(name: str, kwarg: str) -> KwargsBuilder:
    """Kwargs ``{kwarg: world.extra[name]}``, for tokens."""
    return lambda world: {kwarg: world.extra[name]}


PUBLIC_URLS: dict[str, PublicUrl] = {
    "login": PublicUrl(
        "the way in; django-axes throttles its failed attempts", post=True
    ),
    "signup": PublicUrl(
        "creates a new workspace for a new person; it shows nothing of others",
        post=True,
    ),
    "invitation_accept": PublicUrl(
        "the emailed token is the credential; joining needs a login (a POST "
        "without one is sent to log in)",
        kwargs=extra("invitation_token", "token"),
        post=True,
    ),
    "vendor_portal": PublicUrl(
        "the vendor contact has no account; the token, stored hashed, expiring "
        "and revocable, opens one assessment's vendor-facing questions",
        kwargs=extra("vendor_link_token", "token"),
    ),
    "vendor_portal_answer": PublicUrl(
        "the vendor contact's answer to one vendor-facing question, by token",
        kwargs=lambda world: {
            "token": world.extra["vendor_link_token"],
            "question_key": world.extra["vendor_question"].key,
        },
        get=False,
        post=True,
        data=lambda world: {
            "value": world.extra["vendor_question"].options[0]["value"],
            "comment": "From the vendor",
        },
    ),
}
