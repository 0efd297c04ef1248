// compare_denoisers.ijm — the flagship "DL vs classical" workflow (fijax issue 9, seed paper Fig. 3).
//
// Compares ImageJ's Gaussian and Median filters, PureDenoise (PURE-LET) and a DL model on a noisy
// image, scores every output against ground truth (prediction vs GT and raw input vs GT), fills one
// Results table, opens the SSIM/RSE maps and saves comparison.png + comparison.csv.
// Without ground truth it shows the model's MC-dropout uncertainty map and says that no GT was given.
//
// Inputs (open images): "noisy" (or the active image) and, optionally, "gt". Folder mode: dir=FOLDER
// processes every .tif in it (and gt_dir=FOLDER for the matching ground truths).
// Arguments (getArgument(), key=value or key=[value with spaces]): out=FOLDER model=NAME[:VERSION][,NAME2] sigma=2 radius=2
//   cycle_spins=4 mc_samples=8 dir=FOLDER gt_dir=FOLDER
//
//   fijax macro macros/compare_denoisers.ijm --input noisy=noisy.tif --input gt=gt.tif \
//         --arg "out=results model=demo-denoiser" --out results
//   python3 -m fijax demo                      # runs this macro on generated sample data

args = getArgument();
out = argValue(args, "out", getDirectory("temp") + "fijax-compare-denoisers");
model = argValue(args, "model", "");
sigma = argValue(args, "sigma", "2");
radius = argValue(args, "radius", "2");
cycleSpins = argValue(args, "cycle_spins", "4");
mcSamples = argValue(args, "mc_samples", "8");
dir = argValue(args, "dir", "");
gtDir = argValue(args, "gt_dir", "");

setBatchMode(true);
if (dir == "") {
	if (isOpen("noisy")) selectImage("noisy");
	if (nImages == 0) exit("compare_denoisers: no input image (open one titled 'noisy' or pass dir=FOLDER)");
	compare(getTitle(), isOpen("gt"), out);
} else {
	files = getFileList(dir);
	n = 0;
	for (i = 0; i < files.length; i++) {
		if (!endsWith(toLowerCase(files[i]), ".tif") && !endsWith(toLowerCase(files[i]), ".tiff")) continue;
		stem = File.getNameWithoutExtension(files[i]);
		open(dir + File.separator + files[i]);
		rename("noisy");
		hasGT = false;
		if (gtDir != "") hasGT = File.exists(gtDir + File.separator + files[i]);
		if (hasGT) { open(gtDir + File.separator + files[i]); rename("gt"); }
		compare("noisy", hasGT, out + File.separator + stem);
		saveAs("Results", out + File.separator + stem + File.separator + "results.csv");
		run("Clear Results");
		close("*");
		n++;
	}
	if (n == 0) exit("compare_denoisers: no .tif files in " + dir);
	print("compared " + n + " image(s); one folder per image under " + out);
}

function compare(title, hasGT, folder) {
	File.makeDirectory(folder);
	// ImageJ's own classical filters, on 32-bit copies of the input.
	selectImage(title);
	run("Duplicate...", "title=gaussian duplicate");
	run("32-bit");
	run("Gaussian Blur...", "sigma=" + sigma + " stack");
	selectImage(title);
	run("Duplicate...", "title=median duplicate");
	run("32-bit");
	run("Median...", "radius=" + radius + " stack");
	// PureDenoise and the DL model(s) run in fijax; QC of everything against GT (or MC dropout without GT).
	opts = "image=[" + title + "] gaussian=gaussian median=median gaussian_sigma=" + sigma
		+ " median_radius=" + radius + " cycle_spins=" + cycleSpins + " mc_samples=" + mcSamples
		+ " out=[" + folder + "]";
	if (hasGT) opts = opts + " gt=gt";
	if (model != "") opts = opts + " model=[" + model + "]";
	run("FiJAX Compare Denoisers", opts);
	if (!hasGT) print("No ground truth given: outputs are not scored; the MC-dropout uncertainty map is shown instead.");
	else print("best: " + getResultString("method", 0) + " (SSIM " + d2s(getResult("ssim", 0), 3)
		+ ", PSNR " + d2s(getResult("psnr", 0), 2) + " dB)");
	print("comparison figure: " + folder + File.separator + "comparison.png");
	print("comparison table: " + folder + File.separator + "comparison.csv");
}

// The value of key=value or key=[value with spaces] in text (ImageJ's option syntax), else fallback.
function argValue(text, key, fallback) {
	text = " " + text;
	i = indexOf(text, " " + key + "=");
	if (i < 0) return fallback;
	start = i + lengthOf(key) + 2;
	if (substring(text, start, minOf(start + 1, lengthOf(text))) == "[") {
		end = indexOf(text, "]", start);
		if (end < 0) exit("compare_denoisers: unterminated '[' in the value of " + key);
		return substring(text, start + 1, end);
	}
	end = indexOf(text, " ", start);
	if (end < 0) end = lengthOf(text);
	return substring(text, start, end);
}
