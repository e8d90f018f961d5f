#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: marsd_resource
short_description: Manage a replicated marsd resource on a node
version_added: 0.1.0
description:
  - Manages one replicated resource (a block device replicated through a transaction log) on the marsd node of the
    managed host, through the admin API.
  - I(state=present) creates the resource on the node named by I(creator) (C(resource.create); that node becomes its
    primary) and joins it as a secondary everywhere else (C(resource.join); the disk is overwritten by a full sync).
  - I(size) grows the resource online on its primary (C(resource.resize)); the members follow by themselves.
  - I(role) makes this node the primary (planned handover, or forced failover with I(force)) or stops it being primary.
  - I(paused) sets exactly which of the full sync, the fetching of log files and their replay are paused on this node.
  - I(wait_for) waits (on the daemon, no polling) until a condition holds, such as the disk being UpToDate.
  - I(resolve_split_brain), I(invalidate) and I(verify) repair a replica (C(resource.resolveSplitBrain),
    C(resource.invalidate), C(resource.verify)).
  - I(state=absent) makes this node leave the resource (C(resource.leave)), deletes it from the whole cluster with
    I(delete=true) (C(resource.delete)), or evicts a dead member with I(host) and I(force=true).
  - Every API call is idempotent on the daemon, which reports C(changed); the module reports C(changed) when any call
    did. In check mode no mutating method is called; C(changed) and the diff are predicted from C(resource.status)
    and the replicated cluster state (C(state.get)).
author:
  - marsd authors (@marsd)
options:
  name:
    description:
      - Name of the resource (lower-case letters, digits, C(.), C(_), C(-); at most 63 characters).
    type: str
    required: true
  state:
    description:
      - C(present) to have the resource on this node, C(absent) to not have it (see I(delete) and I(host)).
    type: str
    choices: [present, absent]
    default: present
  disk:
    description:
      - Absolute path of the backing disk (regular file or block device) on the managed node.
      - Needed to create or join the resource. When the resource is already here, it must be the same disk
        (compared after resolving symlinks), otherwise the task fails with a conflict.
      - When creating, the disk's content becomes the volume's initial content. When joining, the disk is overwritten.
    type: path
  size_bytes:
    description:
      - Volume size in bytes when creating (a multiple of 4096, at least 1 MiB). Default the disk's size rounded down.
      - Ignored when joining (the size is the resource's). A different size than the existing resource's is a conflict.
    type: int
  size:
    description:
      - The size in bytes the resource should have (a multiple of 4096). Larger than now, the primary grows it online
        (C(resource.resize)); each member then grows its own disk's use and copies only the new tail. Grow the backing
        disks on every node first (lvextend, a larger file). A primary whose disk is too small refuses; a member whose
        disk is too small reports C(resize) in its status and keeps the old size until its disk is grown.
      - Smaller than the resource's current size fails, since resources never shrink. An equal size changes nothing.
      - On a node that is not the primary nothing is called (the primary's task grows the resource); only a shrink fails.
      - When creating, the initial size if I(size_bytes) is not given. Given, I(size_bytes) is then not compared with an
        existing resource's size.
    type: int
  frontend:
    description:
      - How the volume is exported when this node is primary, when creating. C(auto) is ublk when available, else NBD.
      - Ignored when joining. A different frontend than the existing resource's is a conflict.
    type: str
    choices: [auto, nbd, ublk]
  creator:
    description:
      - The marsd host name (as C(node.info) reports it) of the node that creates the resource; every other node joins it.
      - Lets one task run on all nodes at once; the joiners wait (up to I(wait_timeout)) until the creation has reached
        them through the cluster state, and retry while the new primary is not yet reachable.
      - Omitted, the node creates the resource if the cluster has none of that name and joins it otherwise.
    type: str
  role:
    description:
      - C(primary) makes this node the primary (C(resource.primary)). Without I(force) it is a planned handover,
        refused unless this replica is consistent and the current primary is reachable; the old primary finishes its
        log, this node replays all of it, then takes over; no acknowledged write is lost. Waits up to I(wait_timeout).
      - C(secondary) makes this node stop being the designated primary (C(resource.secondary)); afterwards no primary
        is designated until some node is made primary. On a node that is not the designated primary nothing changes.
      - Omitted, the role is left as it is.
    type: str
    choices: [primary, secondary]
  force:
    description:
      - With I(role=primary), a forced failover, when the primary is unreachable. This node becomes primary at once
        with the log it has; if the old primary wrote more, the histories diverge and a split brain is reported on
        every node (it is never merged).
      - With I(state=absent), leave even when this node is the primary.
      - With I(state=absent) and I(delete=true), delete the resource even while other members are joined; they drop
        their copies (logs and metadata; disks are kept).
      - With I(state=absent) and I(host), required to evict another member.
    type: bool
    default: false
  paused:
    description:
      - Exactly what is paused on this node, from C(sync) (the full sync), C(fetch) (fetching log files from the
        primary) and C(replay) (applying them to the disk). Everything not listed is resumed.
      - A paused replay leaves the disk frozen at a consistent point (for a backup snapshot, for example).
        Pauses survive restarts of the daemon.
      - Omitted, pauses are left as they are. An empty list resumes everything.
    type: list
    elements: str
    choices: [sync, fetch, replay]
  wait_for:
    description:
      - After everything else, wait until this holds for the resource on this node (C(resource.wait)).
      - C(uptodate) this node's disk is UpToDate; C(consistent) the replica is consistent; C(synced) no full sync runs;
        C(replicated) every member applied everything the primary made durable; C(primary) / C(secondary) this node's role.
      - Fails with C(WaitTimeout) after I(wait_timeout). Waiting never counts as a change. Skipped in check mode.
    type: str
    choices: [uptodate, consistent, synced, replicated, primary, secondary]
  wait_timeout:
    description:
      - Seconds to wait for I(wait_for), for a planned handover with I(role=primary), and for a joiner to see the
        resource created by I(creator).
    type: int
    default: 300
  delete:
    description:
      - With I(state=absent), delete the resource from the whole cluster (C(resource.delete)), that is its log files and
        metadata on every member; disks are kept. Refused while other members are still joined (they leave first)
        unless I(force).
      - Without it, only this node leaves the resource (C(resource.leave)); the primary cannot leave without I(force).
    type: bool
    default: false
  resolve_split_brain:
    description:
      - The host name of the winner of a split brain; run the task on every member. The winner must be the designated
        primary (make it primary with I(force) first). A member whose history forks from the winner's rolls back to the
        fork and takes the winner's history (its writes since the fork are discarded); on the winner and on members
        without a fork nothing changes. C(changed) is the daemon's; check mode predicts a change when this node's
        status reports a split brain and it is not the winner.
      - Runs after I(paused), so a loser's resync can be held with I(paused=[sync]).
    type: str
  invalidate:
    description:
      - C(true) makes this secondary copy the primary's disk again, then replay from the primary's newest log file
        (C(resource.invalidate)), for a replica suspected damaged. Digests are compared, so what is equal is not sent.
        The replica is inconsistent until the copy is done; add I(wait_for=uptodate) to wait for it.
      - Unchanged while a whole-disk sync is already running (so a task that also pauses the sync with I(paused=[sync])
        is idempotent). Fails on the primary (check mode too). Runs after I(paused) and I(resolve_split_brain).
    type: bool
    default: false
  verify:
    description:
      - C(true) starts an online verify of this secondary against the primary (C(resource.verify)) after everything
        else (also after I(wait_for)); with I(verify_wait) the module waits (up to I(wait_timeout)) for its report.
      - A verify only reads, so it is no change; with I(verify_repair) the chunks found different are copied from the
        primary, and the task is changed when there were any (then it also waits until the replica is consistent
        again). Found differences without I(verify_repair) fail the task, with the report in C(verify) (use
        C(failed_when) to only report them). A failed verify fails the task.
      - Fails on the primary, on an inconsistent replica and while a verify runs. Skipped in check mode (nothing to
        predict; a verify without repair changes nothing, the need for a repair is what it finds out).
    type: bool
    default: false
  verify_repair:
    description:
      - With I(verify), copy the chunks found different from the primary (a region resync).
    type: bool
    default: false
  verify_wait:
    description:
      - With I(verify), wait for the verify to finish and return its report. Without waiting the module only starts it
        (C(changed) then only with I(verify_repair), since it may copy); read the report later with
        M(marsd.marsd.marsd_info) (C(verify) in the resource status).
    type: bool
    default: true
  host:
    description:
      - With I(state=absent) and I(force=true), the host name of a dead member that this node evicts from the resource,
        so that it no longer pins log files on the others (C(resource.leave) with C(host)).
    type: str
extends_documentation_fragment:
  - marsd.marsd.marsd
  - marsd.marsd.marsd.action_group
attributes:
  check_mode:
    description:
      - Predicts C(changed) and the diff from C(resource.status) and C(state.get) without calling any mutating method.
      - Fails, as the real run would, when the task contradicts the resource on this node (disk, size, frontend).
      - What the daemon would refuse in the current state, but an earlier task of the play may change (members still
        joined for I(delete), this node still primary for leaving), is reported as a warning.
        What depends on other nodes (an unreachable primary, a replica that is not consistent) is only found by the real run.
    support: full
  diff_mode:
    description: Shows presence, disk, size (after a grow with I(size)), role, designated primary and pauses before and after.
    support: full
"""

EXAMPLES = r"""
- name: Create r0 on the first node, join it on the others, wait until every disk is UpToDate
  marsd.marsd.marsd_resource:
    name: r0
    disk: /dev/vg0/r0
    creator: "{{ groups['marsd'][0] }}"
    wait_for: uptodate

- name: Planned handover to node-b (run on node-b only)
  marsd.marsd.marsd_resource:
    name: r0
    role: primary
  when: inventory_hostname == 'node-b'

- name: Forced failover to node-b, the primary is dead
  marsd.marsd.marsd_resource:
    name: r0
    role: primary
    force: true
  when: inventory_hostname == 'node-b'

- name: Grow r0 to 20 GiB (after lvextend of /dev/vg0/r0 on every node); the members follow
  marsd.marsd.marsd_resource:
    name: r0
    size: 21474836480

- name: Freeze the secondary's disk for a backup snapshot
  marsd.marsd.marsd_resource:
    name: r0
    paused: [replay]

- name: Resume everything
  marsd.marsd.marsd_resource:
    name: r0
    paused: []

- name: Verify the secondaries against the primary, repair what differs, report what was found
  marsd.marsd.marsd_resource:
    name: r0
    verify: true
    verify_repair: true
  when: inventory_hostname != 'node-a'

- name: Resync a damaged secondary from the primary and wait until it is UpToDate
  marsd.marsd.marsd_resource:
    name: r0
    invalidate: true
    wait_for: uptodate
  when: inventory_hostname == 'node-c'

- name: Resolve a split brain for node-b (already made primary with force), on every member
  marsd.marsd.marsd_resource:
    name: r0
    resolve_split_brain: node-b

- name: This node leaves r0 (its disk is kept)
  marsd.marsd.marsd_resource:
    name: r0
    state: absent

- name: Delete r0 from the cluster (on the primary, after the others left)
  marsd.marsd.marsd_resource:
    name: r0
    state: absent
    delete: true

- name: Evict the dead member node-c so it no longer pins log files
  marsd.marsd.marsd_resource:
    name: r0
    state: absent
    host: node-c
    force: true
"""

RETURN = r"""
resource:
  description:
    - C(resource.status) on this node afterwards (role, state, diskState, replState, paused, disk, log, members, ...).
    - In check mode, the current status. Absent when the resource is not (or no longer) on this node.
  returned: when the resource is on this node
  type: dict
  sample: {"name": "r0", "role": "secondary", "diskState": "UpToDate", "replState": "Replicating", "designatedPrimary": "node-a"}
actions:
  description: The changes made (in check mode, those that would be made), such as C(create), C(join), C(primary), C(pause:replay).
  returned: always
  type: list
  elements: str
  sample: ["join", "pause:replay"]
verify:
  description:
    - The report of the verify the task ran (C(verify) of C(resource.status)), when it waited for it.
    - C(state) (done or failed), C(mismatchedBytes), C(mismatches) (chunk-aligned [offset, length] ranges), C(comparedBytes),
      C(unverifiedBytes), C(repair), C(rounds).
  returned: when verify and verify_wait, and the verify finished
  type: dict
  sample: {"state": "done", "repair": false, "rounds": 1, "comparedBytes": 4194304, "mismatchedBytes": 0, "mismatches": []}
host:
  description: The marsd host name of the managed node.
  returned: success
  type: str
  sample: node-b
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.marsd.marsd.plugins.module_utils import marsd_repair
from ansible_collections.marsd.marsd.plugins.module_utils.marsd_api import (
    MARSD_COMMON_ARGS,
    PRIMARY_UNREACHABLE,
    RESOURCE_NOT_FOUND,
    VERIFY_FAILED,
    VERIFY_MISMATCH,
    MarsdClient,
    MarsdError,
    pause_calls,
    pause_plan,
    paused_list,
    same_disk,
)


def view(status):
    """What the diff shows of a resource on this node."""
    if status is None:
        return dict(present=False)
    return dict(
        present=True,
        disk=status["disk"]["path"],
        size_bytes=status["sizeBytes"],
        role=status["role"],
        designated_primary=status["designatedPrimary"],
        paused=paused_list(status.get("paused")),
    )


class Planner:
    """Decides, from read-only calls, what the task changes: actions, the predicted view, or a conflict."""

    def __init__(self, params, host, status, shared):
        self.params = params
        self.host = host
        self.status = status
        self.shared = shared
        self.actions = []
        self.after = view(status)
        self.problem = None
        self.warnings = []

    def conflict(self, message):
        """The task contradicts this node's resource: the real run fails, and so does check mode."""
        if self.problem is None:
            self.problem = message

    def refused_now(self, message):
        """The daemon would refuse this now; an earlier task of the play may change that, so only warn."""
        self.warnings.append("the daemon would refuse this in the current state: %s" % message)

    def present(self):
        p = self.params
        status = self.status
        if status is None:
            if p["disk"] is None:
                self.conflict("resource %s is not on this node: disk is needed to create or join it" % p["name"])
                return
            create = self.creates()
            self.actions.append("create" if create else "join")
            initial = p["size_bytes"] if p["size_bytes"] is not None else p.get("size")
            size = initial if create else (self.shared["config"] or {}).get("sizeBytes")
            self.after = dict(
                present=True,
                disk=p["disk"],
                size_bytes=size,
                role="primary" if create else "secondary",
                designated_primary=self.host if create else self.shared["primary"],
                paused=[],
            )
            if create and self.shared["config"] is not None:
                self.conflict("resource %s already exists in the cluster: only join it here (creator)" % p["name"])
        elif p["disk"] is not None:
            if not same_disk(p["disk"], status["disk"]["path"]):
                self.conflict("resource %s is already here on disk %s, not %s" % (p["name"], status["disk"]["path"], p["disk"]))
            elif self.creates():
                if p["size_bytes"] is not None and p.get("size") is None and p["size_bytes"] != status["sizeBytes"]:
                    self.conflict("resource %s already exists with %s bytes, not %s" % (p["name"], status["sizeBytes"], p["size_bytes"]))
                existing = (self.shared["config"] or {}).get("frontend")
                if p["frontend"] is not None and existing is not None and p["frontend"] != existing:
                    self.conflict("resource %s already exists with frontend %s, not %s" % (p["name"], existing, p["frontend"]))
        self.role()
        self.resize()
        self.pauses()
        marsd_repair.plan(self)

    def resize(self):
        """size: the primary grows the resource (resource.resize); a member follows it by itself; never shrink."""
        size = self.params.get("size")
        if size is None or self.status is None:
            return
        current = max(self.status["sizeBytes"], (self.shared["config"] or {}).get("sizeBytes") or 0)
        if size < current:
            self.conflict("resource %s has %s bytes: it cannot shrink to %s" % (self.params["name"], current, size))
        elif size > self.after["size_bytes"] and self.after["role"] == "primary":
            self.actions.append("resize")
            self.after["size_bytes"] = size

    def creates(self):
        """Create here (True) or join (False)?"""
        creator = self.params["creator"]
        if creator:
            return creator == self.host
        if self.status is not None:
            return self.shared["config"] is not None and self.shared["config"].get("createdBy") == self.host
        return self.shared["config"] is None

    def role(self):
        role = self.params["role"]
        if role == "primary":
            if not (self.after["role"] == "primary" and self.after["designated_primary"] == self.host):
                self.actions.append("primary" if not self.params["force"] else "primary:force")
                self.after.update(role="primary", designated_primary=self.host)
        elif role == "secondary":
            if self.after["designated_primary"] == self.host:
                self.actions.append("secondary")
                self.after.update(role="secondary", designated_primary=None)

    def pauses(self):
        wanted = self.params["paused"]
        if wanted is None:
            return
        for method, what in pause_plan(self.after["paused"], wanted):
            self.actions.append("%s:%s" % (method.split(".")[1], what))
        self.after["paused"] = sorted(set(wanted))

    def absent(self):
        p = self.params
        target = p["host"] or self.host
        if target != self.host:
            if not p["force"]:
                self.conflict("removing another member (%s) needs force: true" % target)
            elif target in self.shared["members"]:
                self.actions.append("evict:%s" % target)
            return
        if p["delete"]:
            if self.status is None and self.shared["config"] is None:
                return
            others = [h for h in self.shared["members"] if h != self.host]
            if others and not p["force"]:
                self.refused_now("resource %s still has members %s: they must leave first (or use force)" % (p["name"], ", ".join(others)))
            self.actions.append("delete" if not p["force"] else "delete:force")
            self.after = view(None)
            return
        if self.status is None:
            return
        if self.status["role"] == "primary" and not p["force"]:
            self.refused_now("this node is the primary of %s: hand over first, or delete the resource" % p["name"])
        self.actions.append("leave")
        self.after = view(None)


def join_with_retry(client, params, deadline):
    """resource.join, waiting for the creation to reach this node and for the new primary to be reachable."""
    call = dict(name=params["name"], disk=params["disk"])
    while True:
        shared = client.wait_shared_resource(params["name"], deadline)
        if shared["config"] is None:
            raise MarsdError(
                "resource.join",
                RESOURCE_NOT_FOUND,
                "the cluster has no resource %s (waited %ss for %s to create it)"
                % (params["name"], params["wait_timeout"], params["creator"] or "its creator"),
            )
        try:
            return client.call("resource.join", call)
        except MarsdError as e:
            # Right after creation the primary may have no log yet, or its address may not have reached us.
            if e.code not in (PRIMARY_UNREACHABLE, RESOURCE_NOT_FOUND) or time.time() >= deadline:
                raise
        time.sleep(0.5)


def apply(client, params, host, planner, done):
    """The real run: every call the task needs; appends to `done` each action the daemon reported as a change."""
    name = params["name"]

    def run(action, method, call, timeout=None):
        if client.call(method, call, timeout=timeout)["changed"]:
            done.append(action)

    deadline = time.time() + params["wait_timeout"]
    long_timeout = params["wait_timeout"] + params["timeout"]
    if params["state"] == "absent":
        call = dict(name=name)
        if params["force"]:
            call["force"] = True
        if params["host"] and params["host"] != host:
            call["host"] = params["host"]
            run("evict:%s" % params["host"], "resource.leave", call)
        elif params["delete"]:
            run("delete" if not params["force"] else "delete:force", "resource.delete", call)
        else:
            run("leave", "resource.leave", call)
        return
    if params["disk"] is not None:
        if planner.creates():
            call = dict(name=name, disk=params["disk"])
            if params["size_bytes"] is not None or params["size"] is not None:
                call["sizeBytes"] = params["size_bytes"] if params["size_bytes"] is not None else params["size"]
            if params["frontend"] is not None:
                call["frontend"] = params["frontend"]
            run("create", "resource.create", call)
        elif join_with_retry(client, params, deadline)["changed"]:
            done.append("join")
    elif planner.status is None:
        raise MarsdError("resource.status", RESOURCE_NOT_FOUND, planner.problem or "resource %s is not on this node" % name)
    if params["role"] == "primary":
        call = dict(name=name, timeoutMs=params["wait_timeout"] * 1000)
        if params["force"]:
            call["force"] = True
        run("primary" if not params["force"] else "primary:force", "resource.primary", call, long_timeout)
    elif params["role"] == "secondary":
        run("secondary", "resource.secondary", dict(name=name))
    if "resize" in planner.actions:
        # Only the primary grows the resource; the daemon checks the size again (changed false when equal).
        run("resize", "resource.resize", dict(name=name, sizeBytes=params["size"]))
    if params["paused"] is not None:
        for method, what in pause_calls(params["paused"]):
            run("%s:%s" % (method.split(".")[1], what), method, dict(name=name, what=what))
    marsd_repair.apply(client, params, done)
    if params["wait_for"]:
        client.call(
            "resource.wait",
            dict(name=name, until=params["wait_for"], timeoutMs=params["wait_timeout"] * 1000),
            timeout=long_timeout,
        )
    if params["verify"]:
        return marsd_repair.verify(client, params, done, deadline, long_timeout)
    return None


def main():
    argument_spec = dict(MARSD_COMMON_ARGS)
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        disk=dict(type="path"),
        size_bytes=dict(type="int"),
        size=dict(type="int"),
        frontend=dict(type="str", choices=["auto", "nbd", "ublk"]),
        creator=dict(type="str"),
        role=dict(type="str", choices=["primary", "secondary"]),
        force=dict(type="bool", default=False),
        paused=dict(type="list", elements="str", choices=["sync", "fetch", "replay"]),
        wait_for=dict(type="str", choices=["uptodate", "consistent", "synced", "replicated", "primary", "secondary"]),
        wait_timeout=dict(type="int", default=300),
        delete=dict(type="bool", default=False),
        host=dict(type="str"),
        resolve_split_brain=dict(type="str"),
        invalidate=dict(type="bool", default=False),
        verify=dict(type="bool", default=False),
        verify_repair=dict(type="bool", default=False),
        verify_wait=dict(type="bool", default=True),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("delete", "host")],
    )
    params = module.params
    if params["state"] == "absent":
        for option in ("role", "paused", "wait_for", "disk", "size_bytes", "size", "frontend", "creator", "resolve_split_brain"):
            if params[option] is not None:
                module.fail_json(msg="%s cannot be used with state=absent" % option)
        for option in ("invalidate", "verify"):
            if params[option]:
                module.fail_json(msg="%s cannot be used with state=absent" % option)
    elif params["delete"] or params["host"]:
        module.fail_json(msg="delete and host only go with state=absent")

    client = MarsdClient(module)
    result = dict(changed=False, actions=[])
    try:
        host = client.call("cluster.status")["host"]
        result["host"] = host
        status = client.resource_status(params["name"])
        shared = client.shared_resource(params["name"])
        planner = Planner(params, host, status, shared)
        if params["state"] == "present":
            planner.present()
        else:
            planner.absent()
        if module._diff:
            result["diff"] = dict(before=view(status), after=planner.after)
        if module.check_mode:
            result["actions"] = planner.actions
            for warning in planner.warnings:
                module.warn(warning)
            if planner.problem:
                module.fail_json(msg="%s (predicted in check mode)" % planner.problem, **result)
            result["changed"] = bool(planner.actions)
            if status is not None:
                result["resource"] = status
            module.exit_json(**result)

        report = apply(client, params, host, planner, result["actions"])
        if report is not None:
            result["verify"] = report
        result["changed"] = bool(result["actions"])
        now = client.resource_status(params["name"])
        if now is not None:
            result["resource"] = now
        if module._diff:
            result["diff"]["after"] = view(now)
    except MarsdError as e:
        result["changed"] = bool(result["actions"]) and not module.check_mode
        if e.code in (VERIFY_FAILED, VERIFY_MISMATCH):
            result["verify"] = e.data
        client.fail(e, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
