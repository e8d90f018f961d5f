# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""marsd_resource's `size`: the primary grows (check mode predicts it and the
diff shows the new size), a member only checks for a shrink, an equal size
changes nothing, a smaller one fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.marsd.marsd.plugins.modules.marsd_resource import Planner

MIB = 1048576
SHARED_R0 = dict(config=dict(sizeBytes=4 * MIB, createdBy="node-a", frontend="nbd"), primary="node-a", members=["node-a", "node-b"])


def params(**kw):
    p = dict(name="r0", state="present", disk=None, size_bytes=None, size=None, frontend=None, creator=None, role=None,
             force=False, paused=None, wait_for=None, wait_timeout=300, delete=False, host=None)
    p.update(kw)
    return p


def status(role, size=4 * MIB):
    return dict(name="r0", role=role, designatedPrimary="node-a", sizeBytes=size, disk=dict(path="/d/r0.img", sizeBytes=size),
                paused=dict(sync=False, fetch=False, replay=False))


def plan(p, host, st, shared=None):
    planner = Planner(p, host, st, SHARED_R0 if shared is None else shared)
    planner.present()
    return planner


def test_primary_grows_and_the_diff_shows_the_new_size():
    p = plan(params(size=8 * MIB), "node-a", status("primary"))
    assert p.actions == ["resize"] and p.after["size_bytes"] == 8 * MIB and p.problem is None


def test_equal_size_changes_nothing():
    assert plan(params(size=4 * MIB), "node-a", status("primary")).actions == []


def test_shrink_is_a_conflict_everywhere():
    assert "cannot shrink" in plan(params(size=2 * MIB), "node-a", status("primary")).problem
    assert "cannot shrink" in plan(params(size=2 * MIB), "node-b", status("secondary")).problem


def test_a_member_follows_the_primary():
    p = plan(params(size=8 * MIB), "node-b", status("secondary"))
    assert p.actions == [] and p.problem is None


def test_size_is_the_initial_size_when_creating_and_replaces_the_size_bytes_check():
    none = dict(config=None, primary=None, members=[])
    a = plan(params(disk="/d/r0.img", creator="node-a", size=8 * MIB), "node-a", None, none)
    assert a.actions == ["create"] and a.after["size_bytes"] == 8 * MIB
    grown = plan(params(disk="/d/r0.img", creator="node-a", size_bytes=4 * MIB, size=8 * MIB), "node-a", status("primary", 8 * MIB))
    assert grown.problem is None and grown.actions == []
