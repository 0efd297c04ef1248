// Particle analysis with the ROI Manager: threshold, Analyze Particles ... add, measure every ROI,
// save the ROI set (the shape of the ImageJ docs' "Analyze Particles" examples).
#@ File (label = "Image") image
#@ File (label = "Output directory", style = "directory") output
#@ Integer (label = "Minimum size (pixels)", value = 20) minsize
#@output Integer count

setBatchMode(true);
open(image);
title = getTitle();
setThreshold(100, 255);
run("Set Measurements...", "area mean centroid integrated redirect=None decimal=3");
roiManager("reset");
run("Analyze Particles...", "size=" + minsize + "-Infinity display clear summarize add");
count = roiManager("count");
run("Clear Results");
roiManager("deselect");
roiManager("measure");
roiManager("save", output + File.separator + "particles.zip");
print(title + ": " + count + " particles");
