# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the JSON-RPC client helpers (no daemon: the integration
test in test/integration/ansible.test.ts drives real ones)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.marsd.marsd.plugins.module_utils.marsd_api import (
    CHECK_MODE_VIOLATION,
    PROTOCOL_ERROR,
    TOKEN_UNREADABLE,
    MarsdClient,
    MarsdError,
    parse_response,
    pause_calls,
    pause_plan,
    paused_list,
    read_only,
    read_token,
    same_disk,
    shared_view,
)


def body(obj):
    return json.dumps(obj).encode()


def test_result_is_returned():
    assert parse_response("node.info", body({"jsonrpc": "2.0", "id": 1, "result": {"host": "a"}}), 200) == {"host": "a"}


def test_json_rpc_error_keeps_code_message_and_data():
    with pytest.raises(MarsdError) as e:
        parse_response(
            "resource.create",
            body({"jsonrpc": "2.0", "id": 1, "error": {"code": 1002, "message": "r0 exists", "data": {"reason": "RESOURCE_CONFLICT", "disk": "/d"}}}),
            200,
        )
    err = e.value
    assert (err.code, err.name, err.message) == (1002, "ResourceConflict", "r0 exists")
    assert err.as_dict() == {
        "method": "resource.create",
        "code": 1002,
        "name": "ResourceConflict",
        "message": "r0 exists",
        "data": {"reason": "RESOURCE_CONFLICT", "disk": "/d"},
        "http_status": 200,
    }
    assert err.describe() == "resource.create failed: ResourceConflict (1002): r0 exists [RESOURCE_CONFLICT]"


def test_invalid_params_name_every_problem():
    data = {"errors": [{"path": "/disk", "message": "must match pattern \"^/\""}, {"path": "/sizeBytes", "message": "must be >= 1048576"}]}
    with pytest.raises(MarsdError) as e:
        parse_response("resource.create", body({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "Invalid params", "data": data}}))
    assert e.value.describe() == (
        'resource.create failed: InvalidParams (-32602): Invalid params: /disk must match pattern "^/"; /sizeBytes must be >= 1048576'
    )


def test_internal_error_points_at_the_log():
    with pytest.raises(MarsdError) as e:
        parse_response("node.info", body({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "Internal error", "data": {"correlationId": "c-1"}}}))
    assert "correlationId c-1" in e.value.describe()


@pytest.mark.parametrize("raw", [b"", b"<html>oops</html>", body([1, 2]), body({"jsonrpc": "2.0", "id": 1})])
def test_anything_else_is_a_protocol_error(raw):
    with pytest.raises(MarsdError) as e:
        parse_response("node.info", raw, 502)
    assert e.value.code == PROTOCOL_ERROR
    assert e.value.name == "ProtocolError"


def test_token_option_wins_and_file_is_stripped(tmp_path):
    f = tmp_path / "admin.token"
    f.write_text("secret-token\n")
    assert read_token(None, str(f)) == "secret-token"
    assert read_token(" given ", str(f)) == "given"


def test_unreadable_or_empty_token_file(tmp_path):
    with pytest.raises(MarsdError) as e:
        read_token(None, str(tmp_path / "missing"))
    assert e.value.code == TOKEN_UNREADABLE
    assert "set token_file or token" in e.value.message
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(MarsdError):
        read_token(None, str(empty))


class FakeModule:
    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.params = dict(url="http://127.0.0.1:1/", timeout=1, token="t", token_file="/nonexistent", validate_certs=True)


@pytest.mark.parametrize(
    "method",
    ["cluster.create", "cluster.join", "cluster.leave", "resource.create", "resource.join", "resource.leave",
     "resource.delete", "resource.primary", "resource.secondary", "resource.pause", "resource.resume", "resource.logRotate",
     "resource.invalidate", "resource.resolveSplitBrain", "resource.verify"],
)
def test_check_mode_refuses_every_mutating_method(method):
    client = MarsdClient(FakeModule(check_mode=True))
    assert client.url == "http://127.0.0.1:1/rpc"
    with pytest.raises(MarsdError) as e:
        client.call(method, {"name": "r0"})
    assert e.value.code == CHECK_MODE_VIOLATION
    assert client.calls == []


def test_set_bandwidth_is_read_only_only_without_a_rate():
    assert read_only("node.setBandwidth", {"resource": "r0"})
    assert not read_only("node.setBandwidth", {"syncBytesPerSec": 0})
    assert not read_only("node.setBandwidth", {"resource": "r0", "fetchBytesPerSec": 10})
    client = MarsdClient(FakeModule(check_mode=True))
    with pytest.raises(MarsdError) as e:
        client.call("node.setBandwidth", {"syncBytesPerSec": 1})
    assert e.value.code == CHECK_MODE_VIOLATION


def test_shared_view_members_without_evicted():
    entries = [
        {"key": "resource/r0/config", "value": {"sizeBytes": 4096, "createdBy": "node-a", "frontend": "nbd"}},
        {"key": "resource/r0/primary", "value": "node-a"},
        {"key": "resource/r0/host/node-a/member", "value": {"disk": "/d"}},
        {"key": "resource/r0/host/node-b/member", "value": {"disk": "/d"}},
        {"key": "resource/r0/host/node-b/applied", "value": {}},
        {"key": "resource/r0/host/node-c/member", "value": {"disk": "/d"}},
        {"key": "resource/r0/evicted/node-c", "value": True},
    ]
    assert shared_view("r0", entries) == {
        "config": {"sizeBytes": 4096, "createdBy": "node-a", "frontend": "nbd"},
        "primary": "node-a",
        "members": ["node-a", "node-b"],
    }
    assert shared_view("r0", []) == {"config": None, "primary": None, "members": []}


def test_pauses():
    assert paused_list({"sync": False, "fetch": True, "replay": True}) == ["fetch", "replay"]
    assert pause_plan(["fetch"], ["replay"]) == [("resource.resume", "fetch"), ("resource.pause", "replay")]
    assert pause_plan(["replay"], ["replay"]) == []
    assert pause_calls(["replay"]) == [("resource.resume", "sync"), ("resource.resume", "fetch"), ("resource.pause", "replay")]


def test_same_disk_resolves_symlinks(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"")
    link = tmp_path / "link.img"
    os.symlink(str(disk), str(link))
    assert same_disk(str(link), os.path.realpath(str(disk)))
    assert not same_disk(str(tmp_path / "other.img"), os.path.realpath(str(disk)))
