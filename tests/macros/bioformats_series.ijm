// Open one series of a multi-series microscopy file as Fiji's macro recorder writes it, and measure
// each channel's mean.
#@ File (label = "Microscopy file") file
#@ Integer (label = "Series (1-based)", value = 1) series

run("Bio-Formats Importer", "open=[" + file + "] color_mode=Default rois_import=[ROI manager] view=Hyperstack stack_order=XYCZT series_" + series);
getDimensions(w, h, channels, slices, frames);
getPixelSize(unit, pw, ph, pd);
print(getTitle() + " " + w + "x" + h + " c=" + channels + " z=" + slices + " " + pw + " " + unit);
run("Set Measurements...", "mean redirect=None decimal=4");
for (c = 1; c <= channels; c++) {
	Stack.setChannel(c);
	Stack.setSlice(1);
	run("Measure");
	setResult("Channel", nResults - 1, getInfo("slice.label"));
}
