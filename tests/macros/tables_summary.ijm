// Tables: a per-image table made with Table.* and the "Summary" of Analyze Particles over a folder.
#@ File (style = "directory") input

setBatchMode(true);
Table.create("Per image");
files = getFileList(input);
row = 0;
for (i = 0; i < files.length; i++) {
	if (!endsWith(files[i], ".tif")) continue;
	open(input + File.separator + files[i]);
	getStatistics(area, mean, min, max, std);
	Table.set("Image", row, getTitle(), "Per image");
	Table.set("Mean", row, mean, "Per image");
	Table.set("Max", row, max, "Per image");
	setThreshold(100, 255);
	run("Analyze Particles...", "size=20-Infinity summarize");
	close();
	row++;
}
Table.update("Per image");
