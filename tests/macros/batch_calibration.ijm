// Batch save with calibration: every image of a folder gets a pixel size, a Gaussian blur, and is
// saved as TIFF (ImageJ keeps the calibration in the file) and as OME-TIFF (Bio-Formats Exporter).
#@ File (style = "directory") input
#@ File (style = "directory") output
#@ Double (label = "Pixel size (micron)", value = 0.65) pixel
#@ Double (label = "Z step (micron)", value = 2.0) zstep

setBatchMode(true);
files = getFileList(input);
n = 0;
for (i = 0; i < files.length; i++) {
	if (!endsWith(files[i], ".tif")) continue;
	open(input + File.separator + files[i]);
	run("Properties...", "unit=micron pixel_width=" + pixel + " pixel_height=" + pixel + " voxel_depth=" + zstep);
	run("Gaussian Blur...", "sigma=1 stack");
	name = File.nameWithoutExtension;
	saveAs("Tiff", output + File.separator + name + "-blur.tif");
	run("Bio-Formats Exporter", "save=[" + output + File.separator + name + "-blur.ome.tif] compression=Uncompressed");
	close();
	n++;
}
print(n + " images saved");
