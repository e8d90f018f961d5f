# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""marsd_resource's repairs: resolve_split_brain, invalidate and verify.

Contract: plan() only reads the planner's status and predicted view (check
mode calls nothing mutating); apply() makes the calls in the order plan()
lists them, counting a change only when the daemon reports one. A verify only
reads, so it is a change only when its repair copied chunks; found mismatches
without repair fail the task (the report is returned either way).
Kept apart from the module so that marsd_resource.py stays readable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.marsd.marsd.plugins.module_utils.marsd_api import VERIFY_FAILED, VERIFY_MISMATCH, WAIT_TIMEOUT, MarsdError

# How often the module reads resource.status while a verify runs (the daemon has no wait for it).
VERIFY_POLL_SECONDS = 0.25


def full_sync_running(status):
    """What makes resource.invalidate answer changed=false: a whole-disk sync is already under way."""
    sync = (status or {}).get("sync")
    return bool(sync) and sync.get("kind", "full") == "full" and not status.get("consistent", False)


def plan(planner):
    """Appends the repair actions the task would take; conflicts where the daemon always refuses."""
    p = planner.params
    status = planner.status
    name = p["name"]
    winner = p.get("resolve_split_brain")
    if winner and status is not None:
        split = status.get("splitBrain") or {}
        if split.get("detected") and planner.host != winner:
            planner.actions.append("resolve_split_brain:%s" % winner)
        if planner.after["designated_primary"] != winner:
            planner.refused_now("the winner %s is not the designated primary of %s: make it primary (force) first" % (winner, name))
    if p.get("invalidate"):
        if planner.after["role"] == "primary":
            planner.conflict("this node is the primary of %s: invalidate a secondary (its disk is the one that is copied)" % name)
        elif status is not None and not full_sync_running(status):
            planner.actions.append("invalidate")
    if p.get("verify") and planner.after["role"] == "primary":
        planner.conflict("this node is the primary of %s: verify a secondary against it" % name)


def apply(client, params, done):
    """The real calls of plan() but the verify, after the pauses (a paused sync stays paused)."""
    name = params["name"]
    winner = params.get("resolve_split_brain")
    if winner:
        if client.call("resource.resolveSplitBrain", dict(name=name, winner=winner))["changed"]:
            done.append("resolve_split_brain:%s" % winner)
    if params.get("invalidate"):
        if client.call("resource.invalidate", dict(name=name))["changed"]:
            done.append("invalidate")


def verify(client, params, done, deadline, long_timeout):
    """Starts a verify (resource.verify); with verify_wait polls resource.status until its report is final."""
    name = params["name"]
    repair = bool(params.get("verify_repair"))
    call = dict(name=name)
    if repair:
        call["repair"] = True
    client.call("resource.verify", call)
    if not params.get("verify_wait", True):
        if repair:
            done.append("verify:repair")
        return None
    while True:
        report = (client.resource_status(name) or {}).get("verify")
        if report is not None and report.get("state") != "running":
            break
        if time.time() >= deadline:
            raise MarsdError("resource.verify", WAIT_TIMEOUT, "the verify of %s did not finish within wait_timeout" % name)
        time.sleep(VERIFY_POLL_SECONDS)
    if report["state"] == "failed":
        raise MarsdError("resource.verify", VERIFY_FAILED, "the verify of %s failed: %s" % (name, report.get("error", "no reason given")), data=report)
    if report.get("mismatchedBytes", 0) > 0:
        if not repair:
            raise MarsdError(
                "resource.verify",
                VERIFY_MISMATCH,
                "the verify of %s found %s bytes different from the primary (verify_repair copies them)" % (name, report["mismatchedBytes"]),
                data=report,
            )
        done.append("verify:repair")
        # The repair is a region resync: the replica is consistent again once it is copied and replayed past.
        remaining_ms = max(1000, int((deadline - time.time()) * 1000))
        client.call("resource.wait", dict(name=name, until="consistent", timeoutMs=remaining_ms), timeout=long_timeout)
    return report
