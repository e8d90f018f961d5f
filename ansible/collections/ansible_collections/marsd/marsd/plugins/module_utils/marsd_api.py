# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON-RPC 2.0 client for the marsd admin API, for the marsd.marsd modules.

It only uses ansible.module_utils (fetch_url), so managed nodes need no
extra Python packages. Errors become MarsdError with the JSON-RPC code,
message and data; fail() turns one into fail_json with all three.

In check mode the client refuses every method that is not read-only: a
module that forgot to guard a mutating call fails instead of changing the
node. Modules predict `changed` from the read-only methods instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import fetch_url

DEFAULT_URL = "http://127.0.0.1:7780"
DEFAULT_TOKEN_FILE = "/var/lib/marsd/admin.token"

# The shared options of every module (plugins/doc_fragments/marsd.py documents them).
MARSD_COMMON_ARGS = dict(
    url=dict(type="str", default=DEFAULT_URL),
    token_file=dict(type="path", default=DEFAULT_TOKEN_FILE),
    token=dict(type="str", no_log=True),
    timeout=dict(type="int", default=30),
    validate_certs=dict(type="bool", default=True),
)

# Methods that never change anything on the node (api/openrpc.json).
READ_ONLY_METHODS = frozenset(
    [
        "rpc.discover",
        "node.info",
        "cluster.status",
        "state.get",
        "resource.list",
        "resource.status",
        "resource.wait",
    ]
)


def read_only(method, params=None):
    """Whether a call changes nothing: node.setBandwidth without a rate only reports the limits."""
    if method == "node.setBandwidth":
        return not any(k in (params or {}) for k in ("syncBytesPerSec", "fetchBytesPerSec"))
    return method in READ_ONLY_METHODS


# JSON-RPC error codes of the admin API and their names in api/openrpc.json.
ERROR_NAMES = {
    -32700: "ParseError",
    -32600: "InvalidRequest",
    -32601: "MethodNotFound",
    -32602: "InvalidParams",
    -32603: "InternalError",
    -32001: "Unauthorized",
    1001: "ResourceNotFound",
    1002: "ResourceConflict",
    1003: "DiskInvalid",
    1004: "DiskInUse",
    1005: "ResourceFailed",
    1006: "ShuttingDown",
    1007: "FrontendUnavailable",
    1008: "DiskReplaced",
    1010: "ClusterConflict",
    1011: "PeerUnreachable",
    1012: "NotInCluster",
    1013: "TransportFailed",
    1014: "PeerCallFailed",
    1015: "PeerRequestRefused",
    1016: "PeerProtocol",
    1017: "StateWriteRefused",
    1018: "JournalFailed",
    1020: "NotPrimary",
    1021: "NotConsistent",
    1022: "SplitBrain",
    1023: "PrimaryUnreachable",
    1024: "WaitTimeout",
    1025: "ReplicationPaused",
    1026: "ReplayBlocked",
    1027: "RecordInvalid",
    1028: "FrameInvalid",
    1030: "Closed",
    1031: "ReadOnly",
    1032: "VolumeFailed",
    1033: "OutOfRange",
    1034: "LogFailed",
    1035: "LogCorrupt",
    1036: "DirtyMapFailed",
    1040: "NbdProtocol",
    1041: "UblkFailed",
    1050: "ConfigInvalid",
    1051: "CronSyntax",
    1052: "AddressInvalid",
    1053: "FileMalformed",
    1054: "DataDirInUse",
    1055: "NotStarted",
    1056: "RpcTimeout",
}

RESOURCE_NOT_FOUND = 1001
RESOURCE_CONFLICT = 1002
CLUSTER_CONFLICT = 1010
PRIMARY_UNREACHABLE = 1023

# Codes that are not JSON-RPC errors: the daemon could not be reached, or answered nonsense.
TRANSPORT_ERROR = -1
PROTOCOL_ERROR = -2
CHECK_MODE_VIOLATION = -3
TOKEN_UNREADABLE = -4
# A verify (resource.verify) that failed, or found differences it was not asked to repair.
VERIFY_FAILED = -5
VERIFY_MISMATCH = -6
WAIT_TIMEOUT = 1024


class MarsdError(Exception):
    """A failed admin API call: the JSON-RPC error, or why there was no answer."""

    def __init__(self, method, code, message, data=None, http_status=None):
        super(MarsdError, self).__init__(message)
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status

    @property
    def name(self):
        if self.code == TRANSPORT_ERROR:
            return "TransportError"
        if self.code == PROTOCOL_ERROR:
            return "ProtocolError"
        if self.code == CHECK_MODE_VIOLATION:
            return "CheckModeViolation"
        if self.code == TOKEN_UNREADABLE:
            return "TokenUnreadable"
        if self.code == VERIFY_FAILED:
            return "VerifyFailed"
        if self.code == VERIFY_MISMATCH:
            return "VerifyMismatch"
        return ERROR_NAMES.get(self.code, "Error%s" % self.code)

    def describe(self):
        """One line for an operator: method, error name and code, the daemon's message, the reason."""
        text = "%s failed: %s (%s): %s" % (self.method, self.name, self.code, self.message)
        reason = self.data.get("reason") if isinstance(self.data, dict) else None
        if reason and reason not in self.message:
            text += " [%s]" % reason
        if self.code == -32602 and isinstance(self.data, dict):
            problems = ["%s %s" % (e.get("path") or "/", e.get("message")) for e in self.data.get("errors") or []]
            if problems:
                text += ": " + "; ".join(problems)
        if self.code == -32603 and isinstance(self.data, dict) and self.data.get("correlationId"):
            text += " (grep the daemon log for correlationId %s)" % self.data["correlationId"]
        return text

    def as_dict(self):
        out = dict(method=self.method, code=self.code, name=self.name, message=self.message)
        if self.data is not None:
            out["data"] = self.data
        if self.http_status is not None:
            out["http_status"] = self.http_status
        return out


def parse_response(method, body, http_status=None):
    """The result of a JSON-RPC response body, or MarsdError with its error."""
    try:
        answer = json.loads(to_text(body, errors="surrogate_or_strict")) if body else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        snippet = to_text(body or b"", errors="surrogate_or_replace")[:200]
        raise MarsdError(
            method,
            PROTOCOL_ERROR,
            "not a JSON-RPC answer (HTTP %s): %s" % (http_status, snippet),
            http_status=http_status,
        )
    error = answer.get("error")
    if isinstance(error, dict):
        raise MarsdError(
            method,
            error.get("code", PROTOCOL_ERROR),
            to_text(error.get("message", "")),
            error.get("data"),
            http_status,
        )
    if "result" not in answer:
        raise MarsdError(method, PROTOCOL_ERROR, "a JSON-RPC answer without result or error", answer, http_status)
    return answer["result"]


def read_token(token, token_file):
    """The bearer token: the token option, else the content of token_file (stripped)."""
    if token:
        return token.strip()
    try:
        with open(token_file, "rb") as f:
            value = to_text(f.read(), errors="surrogate_or_strict").strip()
    except (IOError, OSError) as e:
        raise MarsdError(
            "auth",
            TOKEN_UNREADABLE,
            "cannot read the admin token file %s: %s (set token_file or token)" % (token_file, to_native(e)),
        )
    if not value:
        raise MarsdError("auth", TOKEN_UNREADABLE, "the admin token file %s is empty" % token_file)
    return value


class MarsdClient:
    """Calls admin API methods of one daemon on behalf of an AnsibleModule."""

    def __init__(self, module):
        self.module = module
        self.url = module.params["url"].rstrip("/") + "/rpc"
        self.timeout = module.params["timeout"]
        self._token = None
        self._next_id = 1
        self.calls = []

    def _headers(self):
        if self._token is None:
            self._token = read_token(self.module.params.get("token"), self.module.params["token_file"])
        return {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": "Bearer %s" % self._token,
        }

    def call(self, method, params=None, timeout=None):
        """The method's result; raises MarsdError. Refuses mutating methods in check mode."""
        if self.module.check_mode and not read_only(method, params):
            raise MarsdError(method, CHECK_MODE_VIOLATION, "refusing to call a mutating method in check mode")
        request = dict(jsonrpc="2.0", id=self._next_id, method=method, params=params or {})
        self._next_id += 1
        self.calls.append(method)
        resp, info = fetch_url(
            self.module,
            self.url,
            data=self.module.jsonify(request),
            headers=self._headers(),
            method="POST",
            timeout=timeout or self.timeout,
            use_netrc=False,
        )
        status = info.get("status", -1)
        if "body" in info:
            # An HTTP error (401, 415, ...): fetch_url already read the body (resp is the spent HTTPError).
            body = info["body"]
        elif resp is not None:
            try:
                body = resp.read()
            finally:
                resp.close()
        else:
            body = None
        if status == -1 or (body is None and status >= 400):
            raise MarsdError(
                method,
                TRANSPORT_ERROR,
                "cannot reach marsd at %s: %s" % (self.url, info.get("msg", "no answer")),
                http_status=None if status == -1 else status,
            )
        return parse_response(method, body, status)

    def fail(self, error, **result):
        """fail_json with the error's description and the structured JSON-RPC error."""
        result.pop("msg", None)
        self.module.fail_json(msg=error.describe(), rpc_error=error.as_dict(), **result)

    # --- read-only helpers shared by the modules ---------------------------------

    def resource_status(self, name):
        """resource.status of the resource on this node, or None when it is not here."""
        try:
            return self.call("resource.status", dict(name=name))
        except MarsdError as e:
            if e.code == RESOURCE_NOT_FOUND:
                return None
            raise

    def shared_resource(self, name):
        """What the replicated cluster state says about a resource (see shared_view)."""
        entries = self.call("state.get", dict(prefix="resource/%s/" % name))["entries"]
        return shared_view(name, entries)

    def wait_shared_resource(self, name, deadline, interval=0.25):
        """Polls the replicated state until the resource's config arrived, or the deadline passed."""
        while True:
            shared = self.shared_resource(name)
            if shared["config"] is not None or time.time() >= deadline:
                return shared
            time.sleep(interval)


def shared_view(name, entries):
    """The cluster-wide facts about resource `name` from state.get entries.

    config: the shared config (sizeBytes, createdBy, frontend) or None when
    the cluster has no such resource; primary: the designated primary;
    members: hosts that are members and not evicted.
    """
    prefix = "resource/%s/" % name
    values = dict((e["key"][len(prefix):], e.get("value")) for e in entries if e["key"].startswith(prefix))
    members = []
    for key in values:
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "host" and parts[2] == "member":
            host = parts[1]
            if values.get("evicted/%s" % host) is not True:
                members.append(host)
    config = values.get("config")
    return dict(
        config=config if isinstance(config, dict) else None,
        primary=values.get("primary"),
        members=sorted(members),
    )


def same_disk(wanted, actual):
    """Is the disk path `wanted` (as given) the disk `actual` (as the daemon resolved it)?

    The daemon stores the real path. When the module runs on the daemon's
    own machine (the usual case) symlinks resolve the same way here.
    """
    if wanted == actual:
        return True
    return os.path.realpath(wanted) == actual


def paused_list(paused):
    """['fetch', ...]: what a Paused object of resource.status says is paused."""
    return sorted(k for k in ("sync", "fetch", "replay") if (paused or {}).get(k))


def pause_calls(wanted):
    """[(method, what)] that make exactly `wanted` paused: one call per kind (each idempotent)."""
    return [("resource.pause" if w in wanted else "resource.resume", w) for w in ("sync", "fetch", "replay")]


def pause_plan(current, wanted):
    """[(method, what)] to go from the paused set `current` to `wanted` (resume first, then pause)."""
    current = set(current)
    wanted = set(wanted)
    plan = [("resource.resume", w) for w in ("sync", "fetch", "replay") if w in current and w not in wanted]
    plan += [("resource.pause", w) for w in ("sync", "fetch", "replay") if w in wanted and w not in current]
    return plan
