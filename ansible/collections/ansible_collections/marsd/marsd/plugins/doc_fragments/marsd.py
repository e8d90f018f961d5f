# -*- coding: utf-8 -*-
# Copyright: (c) 2026, the marsd authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How every marsd.marsd module reaches the daemon's admin API.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the marsd admin listener (C(adminListen)); the module posts JSON-RPC 2.0 requests to C(<url>/rpc).
      - The module runs on the managed node, so the default reaches the daemon of that node.
    type: str
    default: http://127.0.0.1:7780
  token_file:
    description:
      - File holding the admin bearer token (C(tokenFile) of the daemon), read on the managed node.
      - Ignored when I(token) is given.
    type: path
    default: /var/lib/marsd/admin.token
  token:
    description:
      - The admin bearer token itself, instead of reading I(token_file).
    type: str
  timeout:
    description:
      - HTTP timeout in seconds for one API call.
      - Calls that wait on the daemon (I(wait_timeout) of M(marsd.marsd.marsd_resource)) get that time added.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificate when I(url) is C(https).
    type: bool
    default: true
notes:
  - Every module uses only C(ansible.module_utils), so managed nodes need no extra Python packages.
  - An API error fails the task with the JSON-RPC error in C(rpc_error) (C(method), C(code), C(name), C(message), C(data)).
"""

    # The attributes block shared by the modules (check and diff mode are declared per module).
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/marsd.marsd.marsd) in C(module_defaults) to set I(url), I(token_file) and the other connection options once.
    support: full
    membership:
      - marsd.marsd.marsd
"""
