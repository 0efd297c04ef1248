"""POST /macro with #@ parameters: values in, #@output values, tables and the ROI set out."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.jvm

MACRO = '''#@ Integer (value = 3) discs
#@ String label
#@output Integer count
newImage("cells", "8-bit black", 64, 64, 1);
setColor(255);
for (i = 0; i < discs; i++) fillOval(4 + 20 * i, 10, 8, 8);
setThreshold(128, 255);
run("Analyze Particles...", "summarize add");
count = roiManager("count");
Table.create("labels");
Table.set("label", 0, label);
Table.update;
'''


def test_macro_params_over_http(client):
    res = client.macro(MACRO, params={"discs": 2, "label": "two discs"}, timeout=300)
    assert res.state == "succeeded" and res.values["count"] == 2
    assert set(res.files) >= {"rois", "table:labels", "table:Summary"}
    text = client._request("GET", f"/jobs/{res.id}/artifacts/labels.csv").text
    assert "two discs" in text


def test_missing_macro_param_is_a_400_naming_it(client, server):
    with pytest.raises(Exception, match="macro parameter 'label'"):
        client.macro(MACRO, params={"discs": 1}, timeout=300)
    r = httpx.post(f"{server.url}/macro", data={"code": MACRO, "params": "[1, 2]"},
                   headers={"Authorization": f"token {server.token}"})
    assert r.status_code == 400 and "'params' must be a JSON object" in r.json()["detail"]
