# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""marsd_resource's repairs (resolve_split_brain, invalidate, verify) and
marsd_bandwidth: what check mode predicts from hand-made statuses, and how a
verify's report decides the task (a scripted daemon answers the calls; the
integration test runs the same against real daemons)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible_collections.marsd.marsd.plugins.module_utils import marsd_repair
from ansible_collections.marsd.marsd.plugins.module_utils.marsd_api import VERIFY_FAILED, VERIFY_MISMATCH, WAIT_TIMEOUT, MarsdError
from ansible_collections.marsd.marsd.plugins.modules.marsd_bandwidth import limits_of, predict
from ansible_collections.marsd.marsd.plugins.modules.marsd_resource import Planner

MIB = 1048576
SHARED_R0 = dict(config=dict(sizeBytes=4 * MIB, createdBy="node-a", frontend="nbd"), primary="node-a", members=["node-a", "node-b"])


def params(**kw):
    p = dict(name="r0", state="present", disk=None, size_bytes=None, size=None, frontend=None, creator=None, role=None,
             force=False, paused=None, wait_for=None, wait_timeout=300, delete=False, host=None, resolve_split_brain=None,
             invalidate=False, verify=False, verify_repair=False, verify_wait=True)
    p.update(kw)
    return p


def status(role="secondary", primary="node-a", **extra):
    s = dict(name="r0", role=role, designatedPrimary=primary, sizeBytes=4 * MIB, disk=dict(path="/d/r0.img", sizeBytes=4 * MIB),
             paused=dict(sync=False, fetch=False, replay=False), consistent=True)
    s.update(extra)
    return s


def plan(p, host, st, shared=None):
    planner = Planner(p, host, st, SHARED_R0 if shared is None else shared)
    planner.present()
    return planner


FORK = dict(detected=True, fileNumber=7)
FULL_SYNC = dict(kind="full", doneBytes=0, totalBytes=4 * MIB, rateBytesPerSec=0, sameBytes=0)


def test_resolve_split_brain_changes_a_forked_loser_only():
    assert plan(params(resolve_split_brain="node-a"), "node-b", status(splitBrain=FORK)).actions == ["resolve_split_brain:node-a"]
    assert plan(params(resolve_split_brain="node-a"), "node-a", status("primary", splitBrain=FORK)).actions == []
    assert plan(params(resolve_split_brain="node-a"), "node-b", status(splitBrain=dict(detected=False))).actions == []
    assert plan(params(resolve_split_brain="node-a"), "node-b", status()).actions == []


def test_resolve_split_brain_for_a_winner_that_is_not_primary_warns():
    p = plan(params(resolve_split_brain="node-b"), "node-a", status("primary", splitBrain=FORK))
    assert p.problem is None and "not the designated primary" in p.warnings[0]
    # The same task making the winner primary first: no warning.
    p = plan(params(role="primary", force=True, resolve_split_brain="node-b"), "node-b", status(splitBrain=FORK))
    assert p.actions == ["primary:force"] and p.warnings == []


def test_invalidate_unless_a_whole_disk_sync_runs():
    assert plan(params(invalidate=True), "node-b", status()).actions == ["invalidate"]
    assert plan(params(invalidate=True), "node-b", status(consistent=False, sync=FULL_SYNC)).actions == []
    # A region resync (emergency gap, a repair) is not a whole-disk sync: invalidating still copies the disk.
    regions = dict(FULL_SYNC, kind="regions")
    assert plan(params(invalidate=True), "node-b", status(consistent=False, sync=regions)).actions == ["invalidate"]
    # Pausing the sync in the same task comes first in the real run: the order of actions says so.
    assert plan(params(invalidate=True, paused=["sync"]), "node-b", status()).actions == ["pause:sync", "invalidate"]


def test_invalidate_and_verify_on_the_primary_are_conflicts():
    assert "invalidate a secondary" in plan(params(invalidate=True), "node-a", status("primary")).problem
    assert "verify a secondary" in plan(params(verify=True), "node-a", status("primary")).problem
    assert "invalidate a secondary" in plan(params(invalidate=True, role="primary"), "node-b", status()).problem


def test_verify_predicts_no_change():
    p = plan(params(verify=True, verify_repair=True), "node-b", status())
    assert p.actions == [] and p.problem is None


class ScriptedDaemon:
    """Answers resource.verify, resource.status (one verify report per read) and resource.wait; records the calls."""

    def __init__(self, reports):
        self.reports = list(reports)
        self.calls = []

    def call(self, method, params=None, timeout=None):
        self.calls.append((method, params))
        if method == "resource.verify":
            return dict(started=True)
        return dict(changed=False)

    def resource_status(self, name):
        self.calls.append(("resource.status", dict(name=name)))
        return status(verify=self.reports.pop(0) if len(self.reports) > 1 else self.reports[0])


def report(state, mismatched=0, repair=False):
    return dict(state=state, repair=repair, startedAtMs=1, rounds=1, comparedBytes=4 * MIB, mismatches=[[0, 65536]] if mismatched else [],
                mismatchedBytes=mismatched, unverifiedBytes=0)


def run_verify(daemon, deadline=None, **kw):
    done = []
    out = marsd_repair.verify(daemon, params(verify=True, **kw), done, deadline or time.time() + 30, 60)
    return out, done


def test_verify_waits_for_the_report_and_a_clean_one_is_no_change():
    daemon = ScriptedDaemon([report("running"), report("running"), report("done")])
    out, done = run_verify(daemon)
    assert out["state"] == "done" and done == []
    assert [call[0] for call in daemon.calls] == ["resource.verify"] + ["resource.status"] * 3
    assert daemon.calls[0][1] == dict(name="r0")


def test_mismatches_without_repair_fail_with_the_report():
    with pytest.raises(MarsdError) as e:
        run_verify(ScriptedDaemon([report("done", mismatched=65536)]))
    assert e.value.code == VERIFY_MISMATCH and e.value.data["mismatchedBytes"] == 65536


def test_a_repair_is_a_change_and_waits_until_consistent():
    daemon = ScriptedDaemon([report("done", mismatched=65536, repair=True)])
    out, done = run_verify(daemon, verify_repair=True)
    assert done == ["verify:repair"] and out["mismatchedBytes"] == 65536
    assert daemon.calls[0][1] == dict(name="r0", repair=True)
    assert daemon.calls[-1][0] == "resource.wait" and daemon.calls[-1][1]["until"] == "consistent"


def test_a_failed_verify_fails_and_a_late_one_times_out():
    with pytest.raises(MarsdError) as e:
        run_verify(ScriptedDaemon([dict(report("failed"), error="primary unreachable")]))
    assert e.value.code == VERIFY_FAILED and "primary unreachable" in e.value.message
    with pytest.raises(MarsdError) as e:
        run_verify(ScriptedDaemon([report("running")]), deadline=1)
    assert e.value.code == WAIT_TIMEOUT


def test_verify_without_waiting_only_starts_it():
    daemon = ScriptedDaemon([report("running")])
    assert run_verify(daemon, verify_wait=False) == (None, [])
    assert run_verify(ScriptedDaemon([report("running")]), verify_wait=False, verify_repair=True) == (None, ["verify:repair"])
    assert [call[0] for call in daemon.calls] == ["resource.verify"]


def test_bandwidth_limits_and_prediction():
    report_ = dict(changed=False, node=dict(sync=50, fetch=0), resources=dict(r0=dict(sync=0, fetch=10)))
    assert limits_of(report_, None) == dict(sync=50, fetch=0)
    assert limits_of(report_, "r0") == dict(sync=0, fetch=10)
    assert limits_of(report_, "r1") == dict(sync=0, fetch=0)
    both = dict(sync_bytes_per_sec=None, fetch_bytes_per_sec=20)
    assert predict(dict(sync=0, fetch=10), both) == dict(sync=0, fetch=20)
    assert predict(dict(sync=50, fetch=0), dict(sync_bytes_per_sec=50, fetch_bytes_per_sec=None)) == dict(sync=50, fetch=0)
