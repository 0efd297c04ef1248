// Threshold and mask: Otsu on an 8-bit image, Convert to Mask, then the mask applied to the image
// with the Image Calculator (the ImageJ docs' "Thresholding" and "Image Calculator" steps).
#@ String (choices = {"Otsu", "Default", "Huang"}, value = "Otsu") method
#@output Integer lower

rename("raw");
setAutoThreshold(method + " dark");
getThreshold(lower, upper);
run("Create Mask");
rename("mask");
run("Divide...", "value=255");
imageCalculator("Multiply create", "raw", "mask");
rename("masked");
selectImage("mask");
run("Multiply...", "value=255");
