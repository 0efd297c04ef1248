// Per-ROI intensity over a stack: ROIs drawn into the ROI Manager, "Multi Measure" gives one row per
// slice with one column per ROI, "Measure" one row per ROI on the current slice.
#@ String (label = "Stack title", value = "stack") stackTitle

selectImage(stackTitle);
run("Set Measurements...", "area mean min integrated redirect=None decimal=4");
makeRectangle(2, 3, 10, 6);
roiManager("add");
makeRectangle(20, 10, 8, 12);
roiManager("add");
makeRectangle(5, 20, 15, 4);
roiManager("add");
RoiManager.select(1);
roiManager("rename", "second");
roiManager("deselect");
setSlice(2);
roiManager("measure");
// keep the per-ROI rows in a table of their own
Table.create("per roi");
for (i = 0; i < nResults; i++) {
	Table.set("Mean", i, getResult("Mean", i), "per roi");
	Table.set("IntDen", i, getResult("IntDen", i), "per roi");
	Table.set("Area", i, getResult("Area", i), "per roi");
}
Table.update("per roi");
run("Clear Results");
roiManager("multi measure");
print("rois=" + RoiManager.size + " rows=" + nResults);
