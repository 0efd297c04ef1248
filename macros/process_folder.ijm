/*
 * Process Folder: Fiji's Script Editor template (Templates > ImageJ 1.x > Batch > Process Folder),
 * with the processing step filled in: a 3x3 median, saved beside the input names.
 */

#@ File (label = "Input directory", style = "directory") input
#@ File (label = "Output directory", style = "directory") output
#@ String (label = "File suffix", value = ".tif") suffix

processFolder(input);

// function to scan folders/subfolders/files to find files with correct suffix
function processFolder(input) {
	list = getFileList(input);
	list = Array.sort(list);
	for (i = 0; i < list.length; i++) {
		if(File.isDirectory(input + File.separator + list[i]))
			processFolder(input + File.separator + list[i]);
		if(endsWith(list[i], suffix))
			processFile(input, output, list[i]);
	}
}

function processFile(input, output, file) {
	print("Processing: " + input + File.separator + file);
	open(input + File.separator + file);
	run("Median...", "radius=1");
	saveAs("Tiff", output + File.separator + file);
	print("Saving to: " + output);
	close();
}
