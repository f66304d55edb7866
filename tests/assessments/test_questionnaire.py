"""The questionnaire: pillars with progress, per-answer autosave and stale saves."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from assessments import services
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
        assert "Not applicable because" in dependent
        assert "Reinforcement learning from human feedback" in dependent

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

        assert "History (2 changes)" in html
        assert "Partly → Yes" in html

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
            (NUMBER, " 30 ", "30"),
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
