"""The shim jar's plugins.config (what a desktop Fiji's menus show) lists every FiJAX macro command."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from fijax.paths import project_root


def test_plugins_config_lists_every_registered_command():
    config = (project_root() / "java/src/main/resources/plugins.config").read_text()
    listed = set(re.findall(r'^Plugins>FiJAX, "([^"]+)", fijax\.ij\.FijaxCommand\("\1"\)$', config, re.M))
    # A fresh interpreter: commands that other tests register at run time must not count.
    code = "import json; from fijax.bridge import commands; print(json.dumps(sorted(commands.load_all())))"
    registered = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                               check=True).stdout))
    assert registered, "no macro commands registered"
    assert registered == listed
