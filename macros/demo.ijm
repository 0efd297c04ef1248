// fijax demo: a classical Fiji filter, a FiJAX command (JAX, in Python) and a measurement, headless.
//   fijax macro macros/demo.ijm --input blobs=macros/samples/blobs.tif --out out/demo
// Writes out/demo/<title>.tif for every image left open, out/demo/results.csv and out/demo/log.txt.
if (nImages == 0) {
	if (getArgument() == "") exit("no input: pass --input blobs=macros/samples/blobs.tif");
	open(getArgument());
	rename("blobs");
}
selectImage("blobs");
run("Duplicate...", "title=median");
run("Median...", "radius=2");                          // classical ImageJ filter
run("FiJAX Gaussian", "sigma=1.5 output=smoothed");      // JAX in Python, through the shim jar
selectImage("smoothed");
setAutoThreshold("Otsu dark");
run("Convert to Mask");
rename("mask");
run("Set Measurements...", "area mean centroid redirect=blobs decimal=3");
run("Analyze Particles...", "size=10-Infinity display exclude clear");
print("objects: " + nResults);
print(call("fijax.ij.Bridge.call", "info"));            // versions, for the log
