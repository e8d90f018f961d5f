# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode predicts `changed` from read-only state: the planners of
marsd_resource and marsd_cluster on hand-made states (the integration test
checks the same predictions against real daemons)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.marsd.marsd.plugins.modules.marsd_cluster import predict
from ansible_collections.marsd.marsd.plugins.modules.marsd_resource import Planner

SHARED_NONE = dict(config=None, primary=None, members=[])
SHARED_R0 = dict(config=dict(sizeBytes=4194304, createdBy="node-a", frontend="nbd"), primary="node-a", members=["node-a", "node-b"])


def params(**kw):
    p = dict(name="r0", state="present", disk=None, size_bytes=None, frontend=None, creator=None, role=None, force=False,
             paused=None, wait_for=None, wait_timeout=300, delete=False, host=None)
    p.update(kw)
    return p


def status(role="secondary", primary="node-a", disk="/d/r0.img", paused=None):
    return dict(name="r0", role=role, designatedPrimary=primary, sizeBytes=4194304, disk=dict(path=disk, sizeBytes=4194304),
                paused=paused or dict(sync=False, fetch=False, replay=False))


def plan(p, host, st, shared, absent=False):
    planner = Planner(p, host, st, shared)
    if absent:
        planner.absent()
    else:
        planner.present()
    return planner


def test_creator_creates_and_others_join():
    a = plan(params(disk="/d/r0.img", creator="node-a"), "node-a", None, SHARED_NONE)
    assert a.actions == ["create"] and a.after["role"] == "primary" and a.problem is None
    b = plan(params(disk="/d/r0.img", creator="node-a"), "node-b", None, SHARED_NONE)
    assert b.actions == ["join"] and b.after["role"] == "secondary"


def test_existing_resource_same_spec_changes_nothing():
    p = plan(params(disk="/d/r0.img", creator="node-a", paused=[]), "node-b", status(), SHARED_R0)
    assert p.actions == [] and p.problem is None


def test_other_disk_size_or_frontend_is_a_conflict():
    assert "already here on disk" in plan(params(disk="/d/other.img"), "node-b", status(), SHARED_R0).problem
    a = plan(params(disk="/d/r0.img", creator="node-a", size_bytes=8192), "node-a", status(role="primary"), SHARED_R0)
    assert "bytes" in a.problem
    a = plan(params(disk="/d/r0.img", creator="node-a", frontend="ublk"), "node-a", status(role="primary"), SHARED_R0)
    assert "frontend nbd" in a.problem


def test_no_disk_and_not_here_is_a_problem():
    assert "disk is needed" in plan(params(wait_for="uptodate"), "node-b", None, SHARED_R0).problem


def test_roles():
    assert plan(params(role="primary"), "node-b", status(), SHARED_R0).actions == ["primary"]
    assert plan(params(role="primary", force=True), "node-b", status(), SHARED_R0).actions == ["primary:force"]
    assert plan(params(role="primary"), "node-a", status(role="primary"), SHARED_R0).actions == []
    # A primary that is no longer designated (handover under way) is not done yet.
    assert plan(params(role="primary"), "node-a", status(role="primary", primary="node-b"), SHARED_R0).actions == ["primary"]
    assert plan(params(role="secondary"), "node-a", status(role="primary"), SHARED_R0).actions == ["secondary"]
    assert plan(params(role="secondary"), "node-b", status(), SHARED_R0).actions == []


def test_pauses_exactly_as_listed():
    p = plan(params(paused=["replay"]), "node-b", status(paused=dict(sync=False, fetch=True, replay=False)), SHARED_R0)
    assert p.actions == ["resume:fetch", "pause:replay"]
    assert p.after["paused"] == ["replay"]


def test_absent():
    assert plan(params(state="absent"), "node-b", status(), SHARED_R0, absent=True).actions == ["leave"]
    assert plan(params(state="absent"), "node-b", None, SHARED_R0, absent=True).actions == []
    primary = plan(params(state="absent"), "node-a", status(role="primary"), SHARED_R0, absent=True)
    assert primary.actions == ["leave"] and primary.problem is None and "primary" in primary.warnings[0]
    delete = plan(params(state="absent", delete=True), "node-a", status(role="primary"), SHARED_R0, absent=True)
    assert delete.actions == ["delete"] and "node-b" in delete.warnings[0]
    assert plan(params(state="absent", delete=True), "node-a", None, SHARED_NONE, absent=True).actions == []
    # Deleting from a node that left: the cluster still has it.
    assert plan(params(state="absent", delete=True), "node-c", None, SHARED_R0, absent=True).actions == ["delete"]
    assert plan(params(state="absent", host="node-b", force=True), "node-a", status(), SHARED_R0, absent=True).actions == ["evict:node-b"]
    assert plan(params(state="absent", host="node-c", force=True), "node-a", status(), SHARED_R0, absent=True).actions == []
    assert "force" in plan(params(state="absent", host="node-b"), "node-a", status(), SHARED_R0, absent=True).problem


def cparams(**kw):
    p = dict(state="present", cluster_id=None, secret=None, peer=None, host=None, force=False)
    p.update(kw)
    return p


ALONE = dict(host="node-a", members=[])
MEMBER = dict(host="node-a", clusterId="prod", members=[dict(host="node-a"), dict(host="node-b")])


def test_cluster_predictions():
    assert predict(cparams(cluster_id="prod"), ALONE)[0] is True
    assert predict(cparams(cluster_id="prod"), MEMBER)[:1] == (False,)
    assert "already belongs to cluster prod" in predict(cparams(cluster_id="other"), MEMBER)[2]
    assert predict(cparams(peer="x:1", secret="s" * 32), ALONE)[0] is True
    assert predict(cparams(peer="x:1", secret="s" * 32), MEMBER)[0] is False
    assert predict(cparams(state="absent"), MEMBER)[0] is True
    assert predict(cparams(state="absent"), ALONE)[0] is False
    assert predict(cparams(state="absent", host="node-b", force=True), MEMBER)[0] is True
    assert predict(cparams(state="absent", host="node-c", force=True), MEMBER)[0] is False
    assert "force" in predict(cparams(state="absent", host="node-b"), MEMBER)[2]
