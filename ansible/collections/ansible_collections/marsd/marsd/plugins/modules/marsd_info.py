#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: marsd_info
short_description: Read a marsd node, its cluster and its resources
version_added: 0.1.0
description:
  - Reads C(node.info), C(cluster.status) and C(resource.list) from the marsd admin API of the managed node.
  - With I(resources), also the full C(resource.status) of the named resources.
  - Each entry of C(resources) also carries C(emergency) and C(cutLoose) from its C(resource.status) when the resource
    has them (emergency mode, members cut loose), so a play can check them without naming resources.
  - Never changes anything.
author:
  - marsd authors (@marsd)
options:
  resources:
    description:
      - Names of resources whose full C(resource.status) is returned in C(resource_status).
      - A resource that is not on this node is left out of C(resource_status) (no failure).
      - Use C(all) alone to get the status of every resource on this node.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - marsd.marsd.marsd
  - marsd.marsd.marsd.action_group
attributes:
  check_mode:
    description: Runs the same in check mode (it only reads).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
"""

EXAMPLES = r"""
- name: Read the node
  marsd.marsd.marsd_info:
  register: marsd

- name: Show who is primary of r0
  ansible.builtin.debug:
    msg: "{{ marsd.resources | selectattr('name', 'equalto', 'r0') | map(attribute='designatedPrimary') | first }}"

- name: Fail when a resource writes without logging (emergency mode) or has members cut loose
  ansible.builtin.assert:
    that:
      - marsd.resources | selectattr('emergency', 'defined') | selectattr('emergency.active') | list | length == 0
      - marsd.resources | selectattr('cutLoose', 'defined') | list | length == 0

- name: Full status of every resource, with a token from a vault
  marsd.marsd.marsd_info:
    url: http://127.0.0.1:7780
    token: "{{ vault_marsd_token }}"
    resources: [all]
  register: marsd_full
"""

RETURN = r"""
node:
  description: The result of C(node.info) (host, version, pid, data dir, frontends and more).
  returned: success
  type: dict
  sample: {"host": "node-a", "version": "0.1.0", "dataDir": "/var/lib/marsd"}
cluster:
  description:
    - The result of C(cluster.status).
    - C(clusterId) is absent when the node is in no cluster; C(members) lists host, address, C(alive) and more.
  returned: success
  type: dict
  sample: {"host": "node-a", "clusterId": "c-node-a-1", "members": [{"host": "node-a", "self": true, "alive": true}]}
in_cluster:
  description: Whether the node belongs to a cluster.
  returned: success
  type: bool
resources:
  description:
    - The result of C(resource.list) (name, role, state, sizeBytes, designatedPrimary, diskState, replState, device).
    - Plus, from each resource's C(resource.status) and only when present there, C(emergency) and C(cutLoose).
    - C(emergency) is there while emergency mode is active or members still have to resync its gap, with the fields
      active, afterFile, gapFile, enteredMs, dirtyBytes, dirtyMapBytes and membersNeedingResync (host, dirtyBytes, reason).
    - C(cutLoose) lists the members cut loose for lagging, with the fields host, by (the primary that cut it loose),
      sinceMs, reason, lagBytes, dirtyBytes and resumeFile.
    - See docs/operations.md, sections "Emergency mode" and "Cutting lagging members loose".
  returned: success
  type: list
  elements: dict
  sample:
    - {"name": "r0", "role": "primary", "state": "running", "diskState": "UpToDate", "replState": "Replicating"}
    - {"name": "r1", "role": "primary", "state": "running", "diskState": "UpToDate", "replState": "Replicating",
       "emergency": {"active": true, "afterFile": "log-000000006-node-a", "enteredMs": 1765000000000, "dirtyBytes": 2097152,
                     "dirtyMapBytes": 8192, "membersNeedingResync": [{"host": "node-b", "dirtyBytes": 2097152,
                                                                      "reason": "the primary writes without logging"}]},
       "cutLoose": [{"host": "node-c", "by": "node-a", "sinceMs": 1765000000000, "reason": "lag over lagging.maxLagBytes",
                     "lagBytes": 75161927680, "dirtyBytes": 12582912, "resumeFile": "log-000000009-node-a"}]}
resource_status:
  description:
    - C(resource.status) of each resource named in I(resources) that is on this node, by name, as the daemon answered it
      (C(emergency), C(cutLoose), C(replay.state) C(gap) and C(sync.kind) included when present).
  returned: success
  type: dict
  sample: {"r0": {"role": "secondary", "diskState": "UpToDate", "paused": {"sync": false, "fetch": false, "replay": false}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.marsd.marsd.plugins.module_utils.marsd_api import (
    MARSD_COMMON_ARGS,
    MarsdClient,
    MarsdError,
)

# resource.status fields about space safety that are copied into each entry of `resources`.
SPACE_SAFETY_FIELDS = ("emergency", "cutLoose")


def space_safety(status):
    """The space-safety fields of a resource.status that are present (none on a healthy resource)."""
    return dict((k, status[k]) for k in SPACE_SAFETY_FIELDS if k in status)


def collect(resource_status, resources, wanted):
    """Adds the space-safety fields to each entry of `resources` (resource.list) and returns the full
    resource.status of the `wanted` ones (["all"]: every one) by name. `resource_status(name)` answers None
    for a resource that is not on this node (gone since the list, or never here): it is left out."""
    if wanted == ["all"]:
        wanted = [r["name"] for r in resources]
    statuses = {}
    for summary in resources:
        status = resource_status(summary["name"])
        if status is None:
            continue
        summary.update(space_safety(status))
        if summary["name"] in wanted:
            statuses[summary["name"]] = status
    for name in wanted:
        if name not in statuses:
            status = resource_status(name)
            if status is not None:
                statuses[name] = status
    return statuses


def main():
    argument_spec = dict(MARSD_COMMON_ARGS)
    argument_spec.update(resources=dict(type="list", elements="str", default=[]))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = MarsdClient(module)
    result = dict(changed=False)
    try:
        result["node"] = client.call("node.info")
        result["cluster"] = client.call("cluster.status")
        result["in_cluster"] = "clusterId" in result["cluster"]
        result["resources"] = client.call("resource.list")["resources"]
        result["resource_status"] = collect(client.resource_status, result["resources"], module.params["resources"])
    except MarsdError as e:
        client.fail(e, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
