#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: marsd_bandwidth
short_description: Limit the bandwidth of syncs and log fetches on a marsd node
version_added: 0.1.0
description:
  - Sets the bandwidth limits of the managed node (C(node.setBandwidth)), node-wide or, with I(resource), for one
    resource. Both apply; a resource's transfers pass its own limit and then the node's.
  - Only the rates given are set; an omitted rate is left as it is. C(0) lifts a limit.
  - A limit set this way lasts until the daemon restarts; the lasting place is the C(bandwidth) section of the daemon's
    configuration.
  - C(changed) is the daemon's (whether a limit moved). In check mode the current limits are read (C(node.setBandwidth)
    without a rate only reports them) and compared with the wanted ones.
author:
  - marsd authors (@marsd)
options:
  resource:
    description:
      - The resource whose own limits are set. Omitted, the node-wide limits.
      - The resource must be on this node.
    type: str
  sync_bytes_per_sec:
    description:
      - Limit of full syncs and region resyncs, in bytes per second; C(0) lifts it.
    type: int
  fetch_bytes_per_sec:
    description:
      - Limit of fetching log files from the primary, in bytes per second; C(0) lifts it.
    type: int
extends_documentation_fragment:
  - marsd.marsd.marsd
  - marsd.marsd.marsd.action_group
attributes:
  check_mode:
    description: Reads the current limits and predicts C(changed) and the diff without setting anything.
    support: full
  diff_mode:
    description: Shows the limits (C(sync), C(fetch), bytes per second, 0 for none) of the node or the resource before and after.
    support: full
"""

EXAMPLES = r"""
- name: Let syncs use at most 50 MB/s on this node
  marsd.marsd.marsd_bandwidth:
    sync_bytes_per_sec: 50000000

- name: Slow r0's log fetching down to 10 MB/s, leave its sync limit alone
  marsd.marsd.marsd_bandwidth:
    resource: r0
    fetch_bytes_per_sec: 10000000

- name: Lift r0's limits
  marsd.marsd.marsd_bandwidth:
    resource: r0
    sync_bytes_per_sec: 0
    fetch_bytes_per_sec: 0
"""

RETURN = r"""
limits:
  description: The limits of the node (or of I(resource)) afterwards, bytes per second, C(0) for none. In check mode, the predicted ones.
  returned: success
  type: dict
  sample: {"sync": 50000000, "fetch": 0}
bandwidth:
  description:
    - What C(node.setBandwidth) reports afterwards, C(node) and C(resources) (those with limits of their own).
    - In check mode, the current limits.
  returned: success
  type: dict
  sample: {"node": {"sync": 50000000, "fetch": 0}, "resources": {"r0": {"sync": 0, "fetch": 10000000}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.marsd.marsd.plugins.module_utils.marsd_api import MARSD_COMMON_ARGS, MarsdClient, MarsdError

OPTIONS = (("sync", "sync_bytes_per_sec", "syncBytesPerSec"), ("fetch", "fetch_bytes_per_sec", "fetchBytesPerSec"))


def limits_of(report, resource):
    """The node's limits, or a resource's (a resource without limits of its own has none: 0)."""
    if resource is None:
        current = report["node"]
    else:
        current = (report.get("resources") or {}).get(resource) or {}
    return dict(sync=current.get("sync", 0), fetch=current.get("fetch", 0))


def predict(current, params):
    """The limits after the task: the given rates replace the current ones."""
    after = dict(current)
    for key, option, _name in OPTIONS:
        if params[option] is not None:
            after[key] = params[option]
    return after


def main():
    argument_spec = dict(MARSD_COMMON_ARGS)
    argument_spec.update(
        resource=dict(type="str"),
        sync_bytes_per_sec=dict(type="int"),
        fetch_bytes_per_sec=dict(type="int"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    for _key, option, _name in OPTIONS:
        if params[option] is not None and params[option] < 0:
            module.fail_json(msg="%s must be 0 (no limit) or more" % option)
    client = MarsdClient(module)
    result = dict(changed=False)
    read = dict(resource=params["resource"]) if params["resource"] is not None else {}
    try:
        current = client.call("node.setBandwidth", read)
        before = limits_of(current, params["resource"])
        if module.check_mode:
            after = predict(before, params)
            result.update(changed=after != before, limits=after, bandwidth=dict(node=current["node"], resources=current["resources"]))
        else:
            call = dict(read)
            for _key, option, name in OPTIONS:
                if params[option] is not None:
                    call[name] = params[option]
            report = client.call("node.setBandwidth", call)
            after = limits_of(report, params["resource"])
            result.update(changed=report["changed"], limits=after, bandwidth=dict(node=report["node"], resources=report["resources"]))
        if module._diff:
            result["diff"] = dict(before=before, after=after)
    except MarsdError as e:
        client.fail(e, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
