#!/usr/bin/python3
"""Runs `ansible-test sanity` on the marsd.marsd collection without a network.

ansible-test runs most sanity tests in a virtualenv of its own per test, into
which it pip-installs pinned versions from PyPI (pycodestyle, pylint,
yamllint, voluptuous, Jinja2...). Without PyPI that fails before any test
runs. The same tools are Debian packages (scripts/setup.sh installs them), so
this script lets ansible-test find those: for each such test it asks
ansible-test where the test's virtualenv goes (the path is in the message of
the failed pip bootstrap), creates that virtualenv with the system's
site-packages, and marks it ready the way ansible-test does (marker.txt and
its meta files), so ansible-test reuses it instead of installing. Then it runs
`ansible-test sanity` over every test; the versions are Debian's (close to
the pins: pycodestyle 2.10 for 2.9.1, pylint 2.16 for 2.15.5, yamllint 1.29
for 1.28, voluptuous 0.12 for 0.13).

Left out, with the reason:
- import: it must run in a virtualenv WITHOUT the system's packages (it
  proves that modules import nothing the target lacks), built by pip.
- pslint, shellcheck: they run only on PowerShell and shell files, of which
  the collection has none (ansible-test skips them by itself).

Usage: sanity-offline.py <collection root, inside ansible_collections/NS/NAME>
(a copy outside git: ansible-test only sees files git tracks in a work tree).
Exits with ansible-test's status. HOME should be a scratch directory: the
virtualenvs go under ~/.ansible/test/venv.
"""
import json
import os
import re
import subprocess
import sys

PYTHON = "/usr/bin/python3"
NEEDS_REQUIREMENTS = ["ansible-doc", "pep8", "pylint", "runtime-metadata", "validate-modules", "yamllint"]
SKIPPED = ["import"]
VENV_PATH = re.compile(r'Python [0-9.]+ at "(?P<python>[^"]+)/bin/python" does not have pip available')


def python_version():
    return "%d.%d" % sys.version_info[:2]


def ansible_test(root, args):
    return subprocess.run(
        ["ansible-test", "sanity", "--python-interpreter", PYTHON, "--python", python_version()] + args,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )


def seed_venv(root, test):
    """Creates the virtualenv ansible-test wants for `test`, on the system's site-packages."""
    probe = ansible_test(root, ["--test", test])
    found = VENV_PATH.search(probe.stdout)
    if not found:
        return  # seeded already, or the test needs no virtualenv: the full run reports how it went
    path = found.group("python")
    subprocess.run([PYTHON, "-m", "venv", "--clear", "--system-site-packages", "--without-pip", path], check=True)
    with open(os.path.join(path, "meta.install.json"), "w") as f:
        json.dump([], f)
    # What ansible-test records after its own install: whether PyYAML has libyaml (the C loader).
    check = subprocess.run(
        [os.path.join(path, "bin", "python"), "-c", "import json, yaml; print(json.dumps(hasattr(yaml, 'CSafeLoader')))"],
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    )
    with open(os.path.join(path, "meta.yaml.json"), "w") as f:
        f.write(check.stdout.strip())
    open(os.path.join(path, "marker.txt"), "w").close()


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    root = os.path.abspath(sys.argv[1])
    for test in NEEDS_REQUIREMENTS:
        seed_venv(root, test)
    args = []
    for test in SKIPPED:
        args += ["--skip-test", test]
    result = ansible_test(root, args)
    sys.stdout.write(result.stdout)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
