"""The questionnaire: pillars with progress, per-answer autosave and stale saves."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from assessments import scoring, selectors, services
from assessments.models import Answer, AnswerRevision, Question
from tests.factories import AssessmentFactory, MembershipFactory, OfferingFactory

pytestmark = pytest.mark.django_db

CHOICE = "ot_primary_reward"  # choice; pillar optimization_target
YES_NO = "ot_objectives_published"
MULTI = "ed_post_training_methods"  # pillar environment_design
DEPENDENT = "ed_grader_designers"  # asked when MULTI includes rlhf, rlaif or env_rl
NUMBER = "t_notice_days"
URL = "v_spec_url"


@pytest.fixture
def assessment(workspace, owner, candor_v1):
    offering = OfferingFactory(
        vendor__workspace=workspace, vendor__name="Northwind AI", name="Northwind Chat"
    )
    return AssessmentFactory(offering=offering, framework=candor_v1, owner=owner)


@pytest.fixture
def other_editor(workspace):
    return MembershipFactory(
        workspace=workspace, role="editor", user__username="priya"
    ).user


def _detail(assessment, **params) -> str:
    url = reverse("assessment_detail", args=[assessment.pk])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def _save_url(assessment, key: str) -> str:
    return reverse("answer_save", args=[assessment.pk, key])


def _post(client, assessment, key, *, version=0, htmx=True, **fields):
    data = {"tier": "vendor_asserted", "source_url": "", "note": "", **fields}
    data["version"] = version
    headers = {"HX-Request": "true", "HX-Target": f"q-{key}-status"} if htmx else {}
    return client.post(_save_url(assessment, key), data, headers=headers)


def _history(client, assessment, key: str) -> str:
    """The answer's history, as opening it on the questionnaire loads it."""
    url = reverse("answer_history", args=[assessment.pk, key])
    return client.get(url, headers={"HX-Request": "true"}).text


def _answer(assessment, key) -> Answer:
    return Answer.objects.get(assessment=assessment, question__key=key)


def _progress(html: str, pillar: str) -> str:
    match = re.search(rf'id="progress-{pillar}">([^<]+)<', html)
    return match.group(1).strip()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The page ------------------------------------------------------------------


class TestQuestionnairePage:
    def test_it_shows_the_header_pillars_and_first_pillar_questions(
        self, owner_client, assessment, candor_v1
    ):
        response = owner_client.get(_detail(assessment))

        html = response.content.decode()
        assert response.status_code == 200
        assert "Northwind Chat" in html and "Northwind AI" in html
        assert "Candor v1 · version 1" in html
        assert "Customer-facing assistant" in html
        assert reverse("assessment_dashboard", args=[assessment.pk]) in html
        assert reverse("assessment_edit", args=[assessment.pk]) in html
        for pillar in candor_v1.pillars.all():
            assert f"?pillar={pillar.key}" in html
        first = candor_v1.pillars.order_by("order").first()
        keys = [row.key for row in response.context["rows"]]
        assert keys == list(
            first.questions.order_by("order").values_list("key", flat=True)
        )
        assert f'id="q-{CHOICE}"' in html
        assert 'hx-post="' + _save_url(assessment, CHOICE) in html
        assert 'name="version" value="0"' in html

    def test_each_question_has_the_widget_for_its_kind(self, owner_client, assessment):
        choice = owner_client.get(_detail(assessment)).content.decode()
        design = owner_client.get(
            _detail(assessment, pillar="environment_design")
        ).content.decode()
        values = owner_client.get(_detail(assessment, pillar="values")).content.decode()

        assert 'type="radio" name="value" value="engagement"' in choice
        assert 'type="checkbox" name="value" value="rlhf"' in design
        assert 'type="url" name="value"' in values
        assert "Why this matters" in choice
        assert '<option value="independently_observed"' in choice

    def test_a_pillar_is_chosen_by_its_key(self, owner_client, assessment):
        response = owner_client.get(_detail(assessment, pillar="environment_design"))

        assert response.context["pillar"].key == "environment_design"
        assert f'id="q-{MULTI}"' in response.content.decode()

    def test_an_unknown_pillar_falls_back_to_the_first(self, owner_client, assessment):
        response = owner_client.get(_detail(assessment, pillar="nope"))

        assert response.context["pillar"].key == "optimization_target"

    def test_an_unmet_dependency_is_shown_as_not_applicable(
        self, owner_client, assessment
    ):
        response = owner_client.get(_detail(assessment, pillar="environment_design"))

        html = response.content.decode()
        dependent = html.split(f'id="q-{DEPENDENT}"')[1].split("</article>")[0]
        assert (
            "Asked only when “Which post-training methods does the vendor confirm it "
            "used for this model?” includes “Reinforcement learning from human "
            "feedback”, "
        ) in dependent
        assert "Not applicable because" not in dependent

    def test_htmx_renders_only_the_questionnaire(
        self, owner_client, assessment, htmx_headers
    ):
        response = owner_client.get(
            _detail(assessment, pillar="values"), headers=htmx_headers
        )

        html = response.content.decode()
        assert html.lstrip().startswith('<div id="questionnaire">')
        assert "<html" not in html
        assert 'id="pillar-tabs"' in html

    def test_a_viewer_reads_without_being_able_to_save(self, viewer_client, assessment):
        response = viewer_client.get(_detail(assessment))

        html = response.content.decode()
        assert response.status_code == 200
        assert 'class="answer-fields" disabled' in html
        assert "hx-post" not in html
        assert "You can read this assessment" in html
        assert reverse("assessment_edit", args=[assessment.pk]) not in html

    def test_another_workspace_assessment_is_not_found(
        self, outsider_client, assessment
    ):
        assert outsider_client.get(_detail(assessment)).status_code == 404

    def test_wrong_method_is_refused(self, owner_client, assessment):
        assert owner_client.post(_detail(assessment)).status_code == 405

    def test_anonymous_is_sent_to_login(self, assessment):
        response = Client().get(_detail(assessment))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


# --- Saving an answer ------------------------------------------------------------


class TestAnswerSave:
    def test_htmx_save_stores_the_answer_and_returns_its_status(
        self, owner_client, owner, assessment
    ):
        response = _post(
            owner_client,
            assessment,
            CHOICE,
            value="user_outcomes",
            tier="publicly_disclosed",
            source_url="https://northwind.example/spec",
            note="Section 3 of the model spec.",
        )

        answer = _answer(assessment, CHOICE)
        assert (answer.value, answer.tier, answer.version) == (
            "user_outcomes",
            "publicly_disclosed",
            1,
        )
        assert answer.source_url == "https://northwind.example/spec"
        assert answer.answered_by == owner
        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith(f'<footer id="q-{CHOICE}-status"')
        assert 'name="version" value="1"' in html
        assert "Saved" in html and "Last saved by you" in html
        assert "Publicly disclosed" in html

    def test_progress_counts_change_after_a_save(self, owner_client, assessment):
        before = owner_client.get(_detail(assessment)).content.decode()

        response = _post(owner_client, assessment, CHOICE, value="user_outcomes")

        html = response.content.decode()
        assert _progress(before, "optimization_target") == "0 / 11"
        assert re.search(r'<nav id="pillar-tabs"[^>]*hx-swap-oob="true"', html)
        assert _progress(html, "optimization_target") == "1 / 11"

    def test_a_save_records_a_revision_with_old_and_new_values(
        self, owner_client, owner, assessment
    ):
        _post(owner_client, assessment, YES_NO, value="partly")

        _post(
            owner_client, assessment, YES_NO, version=1, value="yes", note="Now public."
        )

        first, second = AnswerRevision.objects.filter(
            answer__question__key=YES_NO
        ).order_by("pk")
        assert first.old == {}
        assert first.new["value"] == "partly"
        assert second.old == {
            "value": "partly",
            "tier": "vendor_asserted",
            "source_url": "",
            "note": "",
        }
        assert second.new["value"] == "yes" and second.new["note"] == "Now public."
        assert second.changed_by == owner
        assert _answer(assessment, YES_NO).version == 2

    def test_the_history_shows_on_the_question(self, owner_client, assessment):
        _post(owner_client, assessment, YES_NO, value="partly")
        _post(owner_client, assessment, YES_NO, version=1, value="yes")

        html = owner_client.get(_detail(assessment)).content.decode()
        history_url = reverse("answer_history", args=[assessment.pk, YES_NO])
        history = owner_client.get(history_url, headers={"HX-Request": "true"})

        assert "History (2 changes)" in html
        assert f'hx-get="{history_url}"' in html
        assert "Partly → Yes" in history.text

    def test_saving_what_is_stored_changes_nothing(self, owner_client, assessment):
        _post(owner_client, assessment, YES_NO, value="yes")

        response = _post(owner_client, assessment, YES_NO, version=1, value="yes")

        assert response.status_code == 200
        assert _answer(assessment, YES_NO).version == 1
        assert AnswerRevision.objects.count() == 1

    def test_a_save_is_logged_with_its_ids(
        self, owner_client, owner, assessment, caplog
    ):
        caplog.set_level("INFO", logger="assessments.services")

        _post(owner_client, assessment, CHOICE, value="user_outcomes")

        answer = _answer(assessment, CHOICE)
        assert (
            f"answer saved assessment={assessment.pk} question={CHOICE} "
            f"answer={answer.pk} version=1 user={owner.pk}"
        ) in caplog.text

    def test_a_save_requests_a_new_score(self, owner_client, assessment):
        _post(owner_client, assessment, CHOICE, value="user_outcomes")

        assessment.refresh_from_db()
        assert assessment.rescore_pending

    def test_multiple_choice_keeps_every_chosen_option(self, owner_client, assessment):
        owner_client.post(
            _save_url(assessment, MULTI),
            {"value": ["rlhf", "sft"], "tier": "vendor_asserted", "version": 0},
            headers={"HX-Request": "true"},
        )

        assert _answer(assessment, MULTI).value == ["sft", "rlhf"]

    def test_meeting_a_dependency_makes_the_dependent_question_applicable(
        self, owner_client, assessment
    ):
        response = owner_client.post(
            _save_url(assessment, MULTI),
            {"value": ["rlhf"], "tier": "vendor_asserted", "version": 0},
            headers={"HX-Request": "true"},
        )

        html = response.content.decode()
        dependent = html.split(f'id="q-{DEPENDENT}"')[1].split("</article>")[0]
        assert 'hx-swap-oob="true"' in dependent
        assert "Not applicable" not in dependent
        assert _progress(html, "environment_design") == "1 / 11"

    def test_without_htmx_a_save_returns_to_the_question(
        self, owner_client, assessment
    ):
        response = _post(owner_client, assessment, MULTI, htmx=False, value="rlhf")

        assert response.status_code == 302
        assert response.url == (
            _detail(assessment, pillar="environment_design") + f"#q-{MULTI}"
        )

    def test_an_unknown_option_is_refused_and_what_was_typed_is_kept(
        self, owner_client, assessment
    ):
        response = _post(
            owner_client, assessment, CHOICE, value="vibes", note="Typed note"
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert response["HX-Retarget"] == f"#q-{CHOICE}"
        assert response["HX-Reswap"] == "outerHTML"
        assert "“vibes” is not one of this question&#x27;s options." in html
        assert "You sent “vibes”" in html
        assert ">Typed note</textarea>" in html
        assert not Answer.objects.filter(assessment=assessment).exists()

    def test_an_invalid_number_or_url_is_refused_with_a_reason(
        self, owner_client, assessment
    ):
        number = _post(owner_client, assessment, NUMBER, value="soon")
        source = _post(
            owner_client, assessment, CHOICE, value="engagement", source_url="spec"
        )

        assert "Enter a number" in number.content.decode()
        assert 'value="soon"' in number.content.decode()
        assert "Enter a full web address" in source.content.decode()
        assert not Answer.objects.filter(assessment=assessment).exists()

    def test_without_htmx_an_invalid_answer_rerenders_the_page(
        self, owner_client, assessment
    ):
        response = _post(owner_client, assessment, CHOICE, htmx=False, value="vibes")

        html = response.content.decode()
        assert response.status_code == 422
        assert "<html" in html
        assert "is not one of this question" in html

    def test_a_missing_version_is_a_bad_request(self, owner_client, assessment):
        response = owner_client.post(
            _save_url(assessment, CHOICE), {"value": "engagement"}
        )

        assert response.status_code == 400

    def test_an_unknown_question_is_not_found(self, owner_client, assessment):
        response = _post(owner_client, assessment, "no_such_question", value="yes")

        assert response.status_code == 404

    def test_a_viewer_cannot_save(self, viewer_client, assessment):
        response = _post(viewer_client, assessment, CHOICE, value="user_outcomes")

        assert response.status_code == 403
        assert not Answer.objects.exists()

    def test_another_workspace_assessment_is_not_found(
        self, outsider_client, assessment
    ):
        response = _post(outsider_client, assessment, CHOICE, value="engagement")

        assert response.status_code == 404
        assert not Answer.objects.exists()

    def test_get_is_refused(self, owner_client, assessment):
        assert owner_client.get(_save_url(assessment, CHOICE)).status_code == 405

    def test_anonymous_is_sent_to_login(self, assessment):
        response = Client().post(
            _save_url(assessment, CHOICE), {"value": "engagement", "version": 0}
        )

        assert response.status_code == 302
        assert not Answer.objects.exists()


# --- Stale saves -------------------------------------------------------------------


class TestStaleSave:
    def test_the_second_of_two_saves_from_the_same_version_is_refused(
        self, owner_client, other_editor, assessment
    ):
        priya = _client_for(other_editor)
        _post(owner_client, assessment, CHOICE, value="user_outcomes")
        loaded_version = 1
        _post(priya, assessment, CHOICE, version=loaded_version, value="user_ratings")

        response = _post(
            owner_client,
            assessment,
            CHOICE,
            version=loaded_version,
            value="engagement",
            note="My stale note",
        )

        answer = _answer(assessment, CHOICE)
        assert (answer.value, answer.version) == ("user_ratings", 2)
        html = response.content.decode()
        assert response.status_code == 200
        assert response["HX-Retarget"] == f"#q-{CHOICE}"
        saved_at = answer.updated_at.astimezone().strftime("%H:%M")
        assert f"priya changed this answer at {saved_at} while you were editing" in html
        conflict = html.split('class="conflict"')[1].split("conflict-actions")[0]
        assert "Thumbs-up ratings from end users" in conflict  # the newer value
        assert "Engagement (time in app" in conflict  # what was typed
        assert "My stale note" in conflict
        assert "Keep theirs" in html and "Use mine" in html
        assert 'name="version" value="2"' in html

    def test_two_clients_loading_the_same_version_cannot_both_win(
        self, owner_client, other_editor, assessment
    ):
        priya = _client_for(other_editor)

        first = _post(
            owner_client, assessment, CHOICE, version=0, value="user_outcomes"
        )
        second = _post(priya, assessment, CHOICE, version=0, value="engagement")

        answer = _answer(assessment, CHOICE)
        assert answer.value == "user_outcomes"
        assert answer.version == 1
        assert "Saved" in first.content.decode()
        assert "changed this answer at" in second.content.decode()
        assert AnswerRevision.objects.count() == 1

    def test_use_mine_saves_over_the_newer_version(
        self, owner_client, other_editor, owner, assessment
    ):
        priya = _client_for(other_editor)
        _post(priya, assessment, CHOICE, value="user_ratings")
        _post(owner_client, assessment, CHOICE, version=0, value="engagement")

        response = owner_client.post(
            _save_url(assessment, CHOICE),
            {
                "value": "engagement",
                "tier": "vendor_asserted",
                "version": 1,
                "use_mine": "1",
            },
            headers={"HX-Request": "true", "HX-Target": f"q-{CHOICE}"},
        )

        answer = _answer(assessment, CHOICE)
        assert (answer.value, answer.version, answer.answered_by) == (
            "engagement",
            2,
            owner,
        )
        html = response.content.decode()
        assert html.lstrip().startswith(f'<article id="q-{CHOICE}"')
        assert 'class="conflict"' not in html
        assert "Saved" in html

    def test_keep_theirs_shows_the_question_as_stored(
        self, owner_client, other_editor, assessment, htmx_headers
    ):
        _post(_client_for(other_editor), assessment, CHOICE, value="user_ratings")

        response = owner_client.get(
            _detail(assessment, pillar="optimization_target", question=CHOICE),
            headers=htmx_headers,
        )

        html = response.content.decode()
        assert html.lstrip().startswith(f'<article id="q-{CHOICE}"')
        assert re.search(r'value="user_ratings"\s+checked', html)
        assert 'name="version" value="1"' in html
        assert "Last saved by priya" in html

    def test_without_htmx_a_stale_save_shows_the_conflict_with_409(
        self, owner_client, other_editor, assessment
    ):
        _post(_client_for(other_editor), assessment, CHOICE, value="user_ratings")

        response = _post(
            owner_client, assessment, CHOICE, htmx=False, version=0, value="engagement"
        )

        html = response.content.decode()
        assert response.status_code == 409
        assert "<html" in html
        assert "priya changed this answer at" in html
        assert _answer(assessment, CHOICE).value == "user_ratings"

    def test_a_write_racing_between_check_and_update_is_refused(
        self, owner, other_editor, assessment, monkeypatch
    ):
        question = Question.objects.get(framework=assessment.framework, key=CHOICE)
        services.answer_save(
            assessment=assessment,
            question=question,
            expected_version=0,
            user=other_editor,
            value="user_outcomes",
        )
        real_snapshot = services._answer_snapshot

        def racing_snapshot(answer):
            # Another writer commits after this save read the row.
            Answer.objects.filter(pk=answer.pk).update(value="user_ratings", version=2)
            return real_snapshot(answer)

        monkeypatch.setattr(services, "_answer_snapshot", racing_snapshot)

        with pytest.raises(services.AnswerConflict) as refused:
            services.answer_save(
                assessment=assessment,
                question=question,
                expected_version=1,
                user=owner,
                value="engagement",
            )

        # The racing write shares the refused save's transaction in this test,
        # so both roll back; what matters is that "engagement" never landed.
        assert refused.value.answer.value == "user_ratings"
        assert _answer(assessment, CHOICE).value == "user_outcomes"
        assert not AnswerRevision.objects.filter(changed_by=owner).exists()


# --- Values by question kind -------------------------------------------------------


class TestAnswerValueClean:
    @pytest.fixture
    def questions(self, candor_v1):
        return {q.key: q for q in Question.objects.filter(framework=candor_v1)}

    @pytest.mark.parametrize(
        ("key", "raw", "stored"),
        [
            (YES_NO, "partly", "partly"),
            (YES_NO, "  ", None),
            (MULTI, ["env_rl", "sft", ""], ["sft", "env_rl"]),
            (MULTI, [], None),
            (MULTI, ["unknown"], ["unknown"]),
            (NUMBER, " 30 ", "30"),
            (NUMBER, "0", "0"),
            (NUMBER, "1000000", "1000000"),
            (URL, "https://northwind.example/spec", "https://northwind.example/spec"),
        ],
    )
    def test_it_accepts_values_the_kind_allows(self, questions, key, raw, stored):
        assert services.answer_value_clean(questions[key], raw) == stored

    @pytest.mark.parametrize(
        ("key", "raw", "message"),
        [
            (YES_NO, "maybe", "“maybe” is not one of this question's options."),
            (MULTI, ["sft", "magic"], "“magic” is not one of this question's options."),
            (NUMBER, "thirty", "Enter a number, such as 12 or 0.5."),
            (NUMBER, "NaN", "Enter a number, such as 12 or 0.5."),
            (NUMBER, "-5", "Enter a number from 0 to 1,000,000."),
            (NUMBER, "1e9", "Enter a number from 0 to 1,000,000."),
            (NUMBER, "1000000.5", "Enter a number from 0 to 1,000,000."),
            (
                MULTI,
                ["sft", "unknown"],
                "“Unknown / not disclosed” cannot be ticked together with other "
                "options.",
            ),
            (URL, "ftp://northwind.example", "Enter a full web address"),
        ],
    )
    def test_it_refuses_values_the_kind_does_not_allow(
        self, questions, key, raw, message
    ):
        with pytest.raises(ValidationError) as refused:
            services.answer_value_clean(questions[key], raw)

        assert refused.value.message_dict["value"][0].startswith(message)

    def test_a_scale_takes_one_to_five(self, questions):
        scale = next(q for q in questions.values() if q.kind == "scale")

        assert services.answer_value_clean(scale, "4") == "4"
        with pytest.raises(ValidationError):
            services.answer_value_clean(scale, "6")


# --- Review fixes: merging stale saves, refused saves, counts, clearing -----------


def _form_state(html: str, key: str) -> dict:
    """What the question's form would post back: its version and base, as rendered."""
    article = html.split(f'id="q-{key}"')[1].split("</article>")[0]
    version = re.search(r'name="version" value="(\d+)"', article).group(1)
    base = re.search(r'name="base" value="([^"]*)"', article).group(1)
    source = re.search(r'name="source_url"[^>]* value="([^"]*)"', article).group(1)
    note = re.search(r'name="note"[^>]*>([^<]*)</textarea>', article).group(1)
    return {
        "version": version,
        "base": unescape(base),
        "source_url": unescape(source),
        "note": unescape(note),
    }


def _conflict_rows(html: str) -> dict[str, tuple[str, str]]:
    table = html.split('class="conflict-table"')[1].split("</table>")[0]
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td>([^<]*)</td>\s*'
        r'<td class="conflict-mine">([^<]*)</td>',
        table,
    )
    return {label: (unescape(theirs), unescape(mine)) for label, theirs, mine in rows}


EMPTY_BASE = json.dumps(
    {"value": None, "tier": "vendor_asserted", "source_url": "", "note": ""}
)


class TestStaleSaveMerge:
    @pytest.fixture
    def priya_answered(self, other_editor, assessment):
        _post(
            _client_for(other_editor),
            assessment,
            YES_NO,
            value="yes",
            source_url="https://northwind.example/policy",
            note="Published in March.",
        )

    def test_use_mine_keeps_the_source_and_note_the_other_person_added(
        self, owner_client, assessment, priya_answered
    ):
        conflict = _post(
            owner_client, assessment, YES_NO, version=0, value="partly", base=EMPTY_BASE
        )
        form = _form_state(conflict.content.decode(), YES_NO)

        owner_client.post(
            _save_url(assessment, YES_NO),
            {"value": "partly", "tier": "vendor_asserted", "use_mine": "1", **form},
            headers={"HX-Request": "true", "HX-Target": f"q-{YES_NO}"},
        )

        answer = _answer(assessment, YES_NO)
        assert (answer.value, answer.version) == ("partly", 2)
        assert answer.source_url == "https://northwind.example/policy"
        assert answer.note == "Published in March."
        history = _history(owner_client, assessment, YES_NO)
        assert "Yes → Partly" in history
        assert "source removed" not in history and "note removed" not in history

    def test_the_conflict_box_lists_only_what_use_mine_would_change(
        self, owner_client, assessment, priya_answered
    ):
        response = _post(
            owner_client, assessment, YES_NO, version=0, value="partly", base=EMPTY_BASE
        )

        html = response.content.decode()
        assert _conflict_rows(html) == {"Answer": ("Yes", "Partly")}
        assert "The source and note they saved stay either way" in html
        form = _form_state(html, YES_NO)
        assert form["source_url"] == "https://northwind.example/policy"
        assert form["note"] == "Published in March."
        assert form["version"] == "1"

    def test_the_conflict_box_lists_every_field_that_differs(
        self, owner_client, other_editor, assessment
    ):
        _post(
            _client_for(other_editor),
            assessment,
            YES_NO,
            value="yes",
            tier="publicly_disclosed",
            source_url="https://northwind.example/policy",
        )

        response = _post(
            owner_client,
            assessment,
            YES_NO,
            version=0,
            value="partly",
            tier="independently_observed",
            note="Our own test disagrees.",
            base=EMPTY_BASE,
        )

        html = response.content.decode()
        assert _conflict_rows(html) == {
            "Answer": ("Yes", "Partly"),
            "Evidence": ("Publicly disclosed", "Independently observed"),
            "Note": ("None", "Our own test disagrees."),
        }
        assert "The source they saved stays either way" in html

    def test_a_stale_save_without_a_base_still_offers_every_posted_field(
        self, owner_client, assessment, priya_answered
    ):
        response = _post(owner_client, assessment, YES_NO, version=0, value="partly")

        rows = _conflict_rows(response.content.decode())
        assert rows["Source"] == ("https://northwind.example/policy", "None")
        assert rows["Note"] == ("Published in March.", "None")

    def test_the_service_saves_only_fields_changed_since_the_base(
        self, owner, other_editor, assessment
    ):
        question = Question.objects.get(framework=assessment.framework, key=YES_NO)
        services.answer_save(
            assessment=assessment,
            question=question,
            expected_version=0,
            user=other_editor,
            value="yes",
            note="Theirs",
        )

        with pytest.raises(services.AnswerConflict) as refused:
            services.answer_save(
                assessment=assessment,
                question=question,
                expected_version=0,
                user=owner,
                base=json.loads(EMPTY_BASE),
                value="partly",
                tier="vendor_asserted",
                source_url="",
                note="",
            )

        assert refused.value.mine["value"] == "partly"
        assert refused.value.mine["note"] == "Theirs"
        assert refused.value.changed == ("value",)

    @pytest.mark.parametrize(
        "base", ["[1, 2", '["yes"]', '{"source_url": {"a": 1}}', '{"value": [1]}']
    )
    def test_a_malformed_base_is_a_bad_request(self, owner_client, assessment, base):
        response = _post(owner_client, assessment, YES_NO, value="yes", base=base)

        assert response.status_code == 400
        assert not Answer.objects.exists()


class TestRefusedSave:
    def test_a_refused_save_says_not_saved_and_keeps_what_was_typed(
        self, owner_client, assessment
    ):
        _post(owner_client, assessment, CHOICE, value="user_outcomes")

        response = _post(
            owner_client,
            assessment,
            CHOICE,
            version=1,
            value="engagement",
            source_url="bad url",
        )

        html = response.content.decode()
        status = html.split('class="question-status"')[1].split("</footer>")[0]
        assert "Not saved" in status
        assert "Fix the source as marked above" in status
        assert "Last saved" not in status and "✓ Saved" not in status
        assert "Still stored: Task success and verified user outcomes" in status
        assert 'value="bad url"' in html
        assert re.search(r'value="engagement"\s+checked', html)
        assert "Enter a full web address" in html
        assert _answer(assessment, CHOICE).value == "user_outcomes"

    def test_a_refused_save_keeps_the_version_and_base_it_was_loaded_with(
        self, owner_client, assessment
    ):
        _post(owner_client, assessment, CHOICE, value="user_outcomes")
        loaded = _form_state(
            owner_client.get(_detail(assessment)).content.decode(), CHOICE
        )

        response = _post(
            owner_client,
            assessment,
            CHOICE,
            version=1,
            value="engagement",
            source_url="bad url",
            base=loaded["base"],
        )

        form = _form_state(response.content.decode(), CHOICE)
        assert form["version"] == "1"
        assert json.loads(form["base"])["value"] == "user_outcomes"


class TestProgressCounts:
    def test_progress_counts_what_the_score_counts(self, owner_client, assessment):
        for key, value in [
            (CHOICE, "user_outcomes"),
            ("t_change_notice", "notice_only"),
            (NUMBER, "30"),
            (URL, "https://northwind.example/spec"),
            ("t_model_card_url", "https://northwind.example/card"),
        ]:
            _post(owner_client, assessment, key, value=value)

        html = owner_client.get(_detail(assessment, pillar="transparency")).content
        html = html.decode()

        inputs = selectors.assessment_scoring_inputs(assessment)
        result = scoring.score_assessment(
            inputs.pillars, inputs.questions, inputs.answers, inputs.profile_weights
        )
        for pillar in result.pillars:
            assert _progress(html, pillar.key) == (
                f"{pillar.answered} / {pillar.applicable}"
            )
        assert (
            f"<strong>{result.answered}</strong> of {result.applicable} scored "
            "questions answered"
        ) in html

    def test_an_unscored_answer_does_not_move_the_progress(
        self, owner_client, assessment
    ):
        before = owner_client.get(_detail(assessment, pillar="values")).content

        response = _post(
            owner_client, assessment, URL, value="https://northwind.example/spec"
        )

        assert _progress(response.content.decode(), "values") == _progress(
            before.decode(), "values"
        )

    def test_unscored_questions_are_labelled_not_scored(self, owner_client, assessment):
        values = owner_client.get(_detail(assessment, pillar="values")).content
        scored_only = owner_client.get(_detail(assessment)).content.decode()

        url_question = values.decode().split(f'id="q-{URL}"')[1].split("</article>")[0]
        assert '<span class="tag-unscored"' in url_question
        assert ">Not scored</span>" in url_question
        assert "Not scored" not in scored_only


class TestMultipleChoiceAndClearing:
    def test_unknown_cannot_be_ticked_with_real_options(self, owner_client, assessment):
        response = owner_client.post(
            _save_url(assessment, MULTI),
            {"value": ["sft", "unknown"], "tier": "vendor_asserted", "version": 0},
            headers={"HX-Request": "true", "HX-Target": f"q-{MULTI}-status"},
        )

        html = response.content.decode()
        assert "“Unknown / not disclosed” cannot be ticked together" in html
        assert "Not saved" in html
        assert not Answer.objects.filter(assessment=assessment).exists()

    def test_unticking_every_box_leaves_the_question_not_answered(
        self, owner_client, assessment
    ):
        _post(owner_client, assessment, MULTI, value=["sft"])

        response = _post(owner_client, assessment, MULTI, version=1)

        html = response.content.decode()
        assert _answer(assessment, MULTI).value is None
        assert "Not answered · last change by you, just now" in html
        assert "Last saved" not in html
        assert "badge-tier-" not in html

    def test_a_single_choice_question_offers_to_clear_its_answer(
        self, owner_client, assessment
    ):
        html = owner_client.get(_detail(assessment)).content.decode()

        question = html.split(f'id="q-{YES_NO}"')[1].split("</article>")[0]
        assert 'type="button" name="clear" value="1"' in question
        assert f'hx-post="{_save_url(assessment, YES_NO)}"' in question

    def test_clear_answer_empties_the_value_and_records_a_revision(
        self, owner_client, assessment
    ):
        _post(owner_client, assessment, YES_NO, value="yes", note="Kept note")

        response = owner_client.post(
            _save_url(assessment, YES_NO),
            {"value": "yes", "clear": "1", "tier": "vendor_asserted", "version": 1},
            headers={"HX-Request": "true", "HX-Target": f"q-{YES_NO}"},
        )

        answer = _answer(assessment, YES_NO)
        assert (answer.value, answer.version) == (None, 2)
        html = response.content.decode()
        assert html.lstrip().startswith(f'<article id="q-{YES_NO}"')
        assert " checked" not in html.split('class="evidence-fields"')[0]
        assert "Not answered" in html
        assert "History (2 changes)" in html
        assert "Yes → No answer" in _history(owner_client, assessment, YES_NO)

    def test_clear_answer_keeps_the_note_when_the_form_sends_its_base(
        self, owner_client, assessment
    ):
        _post(owner_client, assessment, YES_NO, value="yes", note="Kept note")
        form = _form_state(
            owner_client.get(_detail(assessment)).content.decode(), YES_NO
        )

        owner_client.post(
            _save_url(assessment, YES_NO),
            {"value": "yes", "clear": "1", "tier": "vendor_asserted", **form},
            headers={"HX-Request": "true", "HX-Target": f"q-{YES_NO}"},
        )

        answer = _answer(assessment, YES_NO)
        assert (answer.value, answer.note) == (None, "Kept note")

    def test_clearing_a_question_never_answered_stores_nothing(
        self, owner_client, assessment
    ):
        response = _post(owner_client, assessment, YES_NO, clear="1")

        assert response.status_code == 200
        assert not Answer.objects.filter(assessment=assessment).exists()


class TestDecidedAssessment:
    @pytest.fixture
    def decided(self, assessment):
        assessment.status = "decided"
        assessment.decision = "conditions"
        assessment.save()
        return assessment

    def test_the_questionnaire_is_read_only_with_a_banner(self, owner_client, decided):
        html = owner_client.get(_detail(decided)).content.decode()

        assert "Decided on" in html and "Approve with conditions" in html
        assert "reopen to change answers" in html
        assert reverse("assessment_reopen", args=[decided.pk]) in html
        assert 'class="answer-fields" disabled' in html
        assert 'hx-post="' + _save_url(decided, CHOICE) not in html
        assert "Clear answer" not in html

    def test_a_viewer_sees_the_banner_without_the_reopen_action(
        self, viewer_client, decided
    ):
        html = viewer_client.get(_detail(decided)).content.decode()

        assert "Decided on" in html
        assert reverse("assessment_reopen", args=[decided.pk]) not in html

    def test_a_save_to_a_decided_assessment_is_refused_with_409(
        self, owner_client, decided
    ):
        response = _post(owner_client, decided, CHOICE, htmx=False, value="engagement")

        html = response.content.decode()
        assert response.status_code == 409
        assert "this assessment was decided on" in html
        assert "Reopen it to change answers." in html
        assert not Answer.objects.filter(assessment=decided).exists()

    def test_an_htmx_save_to_a_decided_assessment_says_not_saved(
        self, owner_client, decided
    ):
        response = _post(owner_client, decided, CHOICE, value="engagement")

        html = response.content.decode()
        assert response["HX-Retarget"] == f"#q-{CHOICE}"
        assert "Not saved" in html and "Reopen it to change answers." in html
        assert 'class="answer-fields" disabled' in html
        assert not Answer.objects.filter(assessment=decided).exists()

    def test_the_service_refuses_a_decided_assessment(self, owner, decided):
        question = Question.objects.get(framework=decided.framework, key=CHOICE)

        with pytest.raises(services.AssessmentDecided):
            services.answer_save(
                assessment=decided,
                question=question,
                expected_version=0,
                user=owner,
                value="engagement",
            )


class TestAssessmentReopen:
    @pytest.fixture
    def decided(self, assessment):
        assessment.status = "decided"
        assessment.decision = "approve"
        assessment.save()
        return assessment

    def url(self, assessment) -> str:
        return reverse("assessment_reopen", args=[assessment.pk])

    def test_reopening_takes_it_back_to_review_and_keeps_the_decision(
        self, owner_client, decided, caplog
    ):
        caplog.set_level("INFO", logger="assessments.services")

        response = owner_client.post(self.url(decided))

        decided.refresh_from_db()
        assert response.status_code == 302
        assert response.url == decided.get_absolute_url()
        assert (decided.status, decided.decision) == ("in_review", "approve")
        assert f"assessment reopened assessment={decided.pk}" in caplog.text
        page = owner_client.get(response.url).content.decode()
        assert "Reopened for review" in page
        assert 'class="answer-fields" disabled' not in page

    def test_an_editor_can_reopen(self, workspace, decided):
        editor = MembershipFactory(workspace=workspace, role="editor").user

        _client_for(editor).post(self.url(decided))

        decided.refresh_from_db()
        assert decided.status == "in_review"

    def test_htmx_reopen_redirects_on_the_client(
        self, owner_client, decided, htmx_headers
    ):
        response = owner_client.post(self.url(decided), headers=htmx_headers)

        assert response["HX-Redirect"] == decided.get_absolute_url()

    def test_a_viewer_cannot_reopen(self, viewer_client, decided):
        response = viewer_client.post(self.url(decided))

        decided.refresh_from_db()
        assert response.status_code == 403
        assert decided.status == "decided"

    def test_another_workspace_assessment_is_not_found(self, outsider_client, decided):
        assert outsider_client.post(self.url(decided)).status_code == 404

    def test_get_is_refused(self, owner_client, decided):
        assert owner_client.get(self.url(decided)).status_code == 405

    def test_anonymous_is_sent_to_login(self, decided):
        response = Client().post(self.url(decided))

        decided.refresh_from_db()
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert decided.status == "decided"


class TestKeptMarkup:
    """A question's fields and status line are kept per process once rendered;
    whatever changes what they show must show on the next load."""

    def test_a_change_saved_elsewhere_shows_on_the_next_load(
        self, owner_client, other_editor, assessment
    ):
        _post(owner_client, assessment, YES_NO, value="yes", note="First note")
        assert "First note" in owner_client.get(_detail(assessment)).text

        _post(
            _client_for(other_editor),
            assessment,
            YES_NO,
            version=1,
            value="yes",
            note="Second note",
        )

        html = owner_client.get(_detail(assessment)).text
        assert "Second note" in html and "First note" not in html
        assert "Last saved by priya" in html

    def test_each_person_reads_the_status_line_in_their_own_words(
        self, owner_client, owner, other_editor, assessment
    ):
        _post(owner_client, assessment, YES_NO, value="yes")
        assert "Last saved by you" in owner_client.get(_detail(assessment)).text

        html = _client_for(other_editor).get(_detail(assessment)).text

        assert f"Last saved by {owner.get_username()}" in html
        assert "Last saved by you" not in html

    def test_a_viewer_gets_locked_fields_after_an_owner_opened_the_page(
        self, owner_client, viewer_client, assessment
    ):
        _post(owner_client, assessment, YES_NO, value="yes")
        owner_page = owner_client.get(_detail(assessment)).text
        assert 'class="answer-fields" disabled' not in owner_page

        viewer_page = viewer_client.get(_detail(assessment)).text

        assert 'class="answer-fields" disabled' in viewer_page
        assert "Clear answer" not in viewer_page


class TestWording:
    def test_the_questionnaire_links_to_decision_and_status(
        self, owner_client, assessment
    ):
        html = owner_client.get(_detail(assessment)).content.decode()

        edit_url = reverse("assessment_edit", args=[assessment.pk])
        assert re.search(rf'<a href="{edit_url}"[^>]*>Decision &amp; status</a>', html)

    @pytest.mark.parametrize(
        ("labels", "kind", "sentence"),
        [
            (
                ("Yes", "Partly"),
                "yes_no",
                "Asked only when “Does it log?” is answered Yes or Partly.",
            ),
            (
                ("Supervised fine-tuning on your examples only",),
                "choice",
                "Asked only when “Does it log?” is answered “Supervised fine-tuning "
                "on your examples only”.",
            ),
            (
                ("RLHF", "RLAIF"),
                "multi",
                "Asked only when “Does it log?” includes RLHF or RLAIF.",
            ),
        ],
    )
    def test_a_not_applicable_question_says_when_it_is_asked(
        self, labels, kind, sentence
    ):
        row = selectors.QuestionRow(
            question=Question(key="q", kind="yes_no", text="Logged?"),
            number=1,
            answer=None,
            applicable=False,
            depends_on_text="Does it log?",
            depends_on_labels=labels,
            depends_on_kind=kind,
        )

        assert row.asked_when == sentence
