# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""marsd_info carries each resource's emergency mode and members cut loose into the
`resources` facts, and returns full statuses exactly for the resources asked for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.marsd.marsd.plugins.modules.marsd_info import collect, space_safety

EMERGENCY = dict(active=True, afterFile="log-000000006-node-a", enteredMs=1765000000000, dirtyBytes=2097152,
                 dirtyMapBytes=8192, membersNeedingResync=[dict(host="node-b", dirtyBytes=2097152, reason="no log")])
CUT_LOOSE = [dict(host="node-c", by="node-a", sinceMs=1765000000000, reason="lag", lagBytes=75161927680,
                  dirtyBytes=12582912, resumeFile="log-000000009-node-a")]


def summary(name):
    return dict(name=name, role="primary", state="running", sizeBytes=4194304, designatedPrimary="node-a",
                diskState="UpToDate", replState="Replicating")


def statuses(**extra):
    """resource.status answers by name (r0 healthy, r1 in emergency mode with a member cut loose)."""
    answers = dict(r0=dict(summary("r0"), members=[]), r1=dict(summary("r1"), members=[], emergency=EMERGENCY, cutLoose=CUT_LOOSE))
    answers.update(extra)
    calls = []

    def resource_status(name):
        calls.append(name)
        return answers.get(name)
    return resource_status, calls


def test_space_safety_fields_only_when_present():
    assert space_safety(dict(name="r0", role="primary")) == {}
    assert space_safety(dict(name="r1", emergency=EMERGENCY, cutLoose=CUT_LOOSE, members=[])) == dict(emergency=EMERGENCY, cutLoose=CUT_LOOSE)


def test_resources_carry_emergency_and_cut_loose():
    resource_status, calls = statuses()
    resources = [summary("r0"), summary("r1")]
    assert collect(resource_status, resources, []) == {}
    assert resources[0] == summary("r0")
    assert resources[1] == dict(summary("r1"), emergency=EMERGENCY, cutLoose=CUT_LOOSE)
    assert calls == ["r0", "r1"]


def test_full_status_of_the_named_or_all():
    resource_status, calls = statuses()
    resources = [summary("r0"), summary("r1")]
    named = collect(resource_status, resources, ["r1", "nope"])
    assert list(named) == ["r1"]
    assert named["r1"]["emergency"] == EMERGENCY
    assert calls == ["r0", "r1", "nope"]
    resource_status, calls = statuses()
    assert sorted(collect(resource_status, [summary("r0"), summary("r1")], ["all"])) == ["r0", "r1"]
    assert calls == ["r0", "r1"]


def test_a_resource_gone_since_the_list_is_left_out():
    resource_status, calls = statuses(r1=None)
    resources = [summary("r0"), summary("r1")]
    assert list(collect(resource_status, resources, ["all"])) == ["r0"]
    assert resources[1] == summary("r1")
