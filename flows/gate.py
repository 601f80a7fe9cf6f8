"""The review gate as a process: publish the review, wait for a usable decision, prototype the
rejected or rewritten shots again, repeat (see flows/review.py for the form and the page)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from prefect import get_run_logger

from reelflow.edit.edit import Edit
from reelflow.errors import ReelflowError
from reelflow.flows.artifacts import artifact_key
from reelflow.flows.finish import Finished, finish
from reelflow.flows.outputs import review_page
from reelflow.flows.review import ReviewInput, ReviewTimeout, problems_in, review_form, wait_for_review
from reelflow.flows.tiers import RenderRun, render_tier
from reelflow.plan.review_groups import members, review_groups
from reelflow.tasks.generation import route


@dataclass(frozen=True)
class Reviewed:
    """Where review left the render: the (possibly revised) run and its edit, approvals set."""

    run: RenderRun
    edit: Edit


def prototype(run: RenderRun, edit: Edit) -> Finished:
    """The drafts assembled into the prototype edit (a review proxy, `output.prototype_resolution`),
    published to the output folder."""
    return finish(run, edit.without("final"), "prototype", publish_as=f"{edit.stem}.prototype.mp4",
                  size=run.loaded.spec.output.prototype_size)


def review(run: RenderRun, edit: Edit, proto: Finished, *, timeout: int, mode: str) -> tuple[Reviewed, Finished]:
    """Pause until a usable decision: rejected or rewritten shots are prototyped again and
    reviewed again; a form entry that cannot be used pauses again with the problem shown."""
    from prefect.runtime import flow_run

    logger = get_run_logger()
    models = sorted(m for m, spec in run.cat.models.items()  # video generation models only
                    if spec.does == "video" and not spec.lifecycle.retired_on(run.today))
    groups = review_groups([(s.id, s.shot.scene) for s in edit.shots])
    names = [g.name for g in groups] if len(groups) > 1 else []
    form = review_form(edit.ids, models, names)
    changed, problems = {i: "first round" for i in edit.ids}, []
    for round_no in range(1, 21):
        page = review_page(run, edit, proto.published, round_no, changed, problems, groups)
        page.publish(artifact_key(edit.stem, "review"))
        logger.info("review ready (round %d): artifact '%s' on %s; spent $%.2f so far; approving all costs "
                    "$%.2f (%s)", round_no, artifact_key(edit.stem, "review"), flow_run.ui_url or "this run",
                    page.spent, page.approve_all_cost,
                    ", ".join(f"{s.shot_id} ${s.final_cost:.2f}" for s in page.shots))
        answer = wait_for_review(form, timeout, mode)
        logger.info("review round %d by %s: %s", round_no, answer.reviewer or "someone",
                    answer.model_dump(exclude={"reviewer"}))
        problems = problems_in(answer, edit.ids, models, {s.id: len(s.plan.options) or 1 for s in edit.shots},
                               names)
        if problems:
            logger.warning("review round %d not used: %s", round_no, "; ".join(problems))
            continue
        if answer.approve_groups:  # a whole scene approved: each of its shots, as if listed
            whole = [i for i in members(groups, answer.approve_groups) if i not in answer.approve]
            answer = answer.model_copy(update={"approve": [*answer.approve, *whole]})
        picked, edit = _choose(edit, answer)  # the finals render from these takes
        # drafts continuing a take no longer chosen (and not approved now) start on the new one
        stale = edit.followers(picked) - picked - set(edit.ids if answer.approve_all else answer.approve)
        redo = {*answer.reject, *answer.prompts, *answer.models}
        if answer.approve_all or (answer.approve and not redo and not stale):
            return Reviewed(run, edit.approve(edit.ids if answer.approve_all else answer.approve)), proto
        changed = {i: f"take {answer.takes[i]} chosen" for i in picked}
        if redo:
            try:
                run, revised = revise(run, answer, round_no)
            except ReelflowError as exc:
                problems = [str(exc)]
                continue
            changed.update(revised)
        redo = edit.followers(redo)  # shots continuing a changed one start on its new last frame
        changed.update({i: "continues a shot prototyped again" for i in redo - set(changed)})
        changed.update({i: "continues a newly chosen take" for i in stale - set(changed)})
        redo |= stale
        if redo:
            edit = render_tier(run, edit.replan(run.loaded, run.plan, redo), "draft", sorted(redo))
        proto = prototype(run, edit)
    raise ReviewTimeout("twenty review rounds without a decision")


def _choose(edit: Edit, answer: ReviewInput) -> tuple[set[str], Edit]:
    """The edit with the answer's takes chosen, and the shots whose chosen take changed."""
    before = {s.id: s.chosen for s in edit.shots}
    edit = edit.choose({i: k - 1 for i, k in answer.takes.items()})
    return {s.id for s in edit.shots if s.chosen != before[s.id]}, edit


def revise(run: RenderRun, answer: ReviewInput, round_no: int) -> tuple[RenderRun, dict[str, str]]:
    """Apply a review's rewrites and rejections to the shot list and re-route it; returns the
    new run and, per shot prototyped again, what changed. Raises ReelflowError if unroutable."""
    redo = set(answer.reject) | set(answer.prompts) | set(answer.models)
    shots, changed = [], {}
    for shot in run.loaded.spec.shots:
        if shot.id in redo:
            update, why = {}, []
            if shot.id in answer.prompts:
                update["prompt"], why = answer.prompts[shot.id], [*why, "new prompt"]
            if shot.id in answer.models:
                update["model"], why = answer.models[shot.id], [*why, f"model {answer.models[shot.id]}"]
            if not update:
                update["seed"], why = shot.effective_seed + round_no, ["rejected: new take"]
            shot, changed[shot.id] = shot.model_copy(update=update), ", ".join(why)
        shots.append(shot)
    loaded = run.loaded.model_copy(update={"spec": run.loaded.spec.model_copy(update={"shots": shots})})
    plan, cat = run.task(route)(loaded, run.catalog_path, run.today)
    return replace(run, loaded=loaded, plan=plan, cat=cat), changed
