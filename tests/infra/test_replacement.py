"""Switching ``hostingPlan`` on a stack: Pulumi must create a new plan and app and delete the
old ones, because Azure refuses the in-place update (a plan's SKU cannot move between Dynamic
and FlexConsumption; ``functionAppConfig`` can only be set when a site is created).

Pulumi keys a stack's resources by URN: a URN present before and after is diffed and updated in
place; a new URN is created and a vanished one deleted. So the test compares the URNs of two
program runs of the same stack, one per plan."""

from __future__ import annotations

import pytest

from infra.components import functionapp

MUST_REPLACE = ("web:AppServicePlan", "web:WebApp", "web:WebAppFtpAllowed", "web:WebAppScmAllowed")
MUST_KEEP = (
    "storage:StorageAccount",
    "storage:BlobContainer",
    "operationalinsights:Workspace",
    "applicationinsights:Component",
    "resources:ResourceGroup",
)


def urns(run, suffix: str) -> set[str]:
    return {c.urn for c in run.of_type(suffix)}


def replaced(before, after, suffix: str) -> bool:
    """Every resource of this type is new after the switch (no URN carried over)."""
    old, new = urns(before, suffix), urns(after, suffix)
    return bool(old) and bool(new) and not old & new


@pytest.mark.parametrize("start, switch", [("flex", "consumption"), ("consumption", "flex")])
def test_a_plan_switch_replaces_the_plan_and_the_app(run_stack, start, switch):
    before = run_stack({"hostingPlan": start})
    after = run_stack({"hostingPlan": switch})
    for suffix in MUST_REPLACE:
        assert replaced(before, after, suffix), suffix
    for suffix in MUST_KEEP:
        assert urns(before, suffix) == urns(after, suffix), suffix
    # The app identity and its storage roles survive the switch (no re-propagation wait).
    assert urns(before, "managedidentity:UserAssignedIdentity") & urns(
        after, "managedidentity:UserAssignedIdentity"
    )


def test_the_same_plan_keeps_every_resource(run_stack):
    before, after = run_stack({"hostingPlan": "flex"}), run_stack({"hostingPlan": "flex"})
    assert {c.urn for c in before.created} == {c.urn for c in after.created}


def test_without_the_plan_in_the_names_the_switch_would_update_in_place(run_stack, monkeypatch):
    """Mutation check: the test above fails on the old naming."""
    monkeypatch.setattr(functionapp, "resource_suffix", lambda cfg: cfg.name_prefix)
    before = run_stack({"hostingPlan": "flex"})
    after = run_stack({"hostingPlan": "consumption"})
    assert not replaced(before, after, "web:WebApp")
    assert urns(before, "web:WebApp") == urns(after, "web:WebApp")
