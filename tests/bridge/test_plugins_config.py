"""The shim jar's plugins.config (what a desktop Fiji's menus show) lists every FiJAX macro command."""

from __future__ import annotations

import re

from fijax.bridge import commands
from fijax.paths import project_root


def test_plugins_config_lists_every_registered_command():
    config = (project_root() / "java/src/main/resources/plugins.config").read_text()
    listed = set(re.findall(r'^Plugins>FiJAX, "([^"]+)", fijax\.ij\.FijaxCommand\("\1"\)$', config, re.M))
    registered = set(commands.load_all())
    assert registered, "no macro commands registered"
    assert registered == listed
