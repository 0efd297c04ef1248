// mixed_pipeline.groovy — one Groovy script mixing ImageJ and fijax (Java API fijax.ij.FiJAX):
// an ImageJ filter, a FiJAX prediction and FiJAX QC on the same sample.
//
//   fijax script macros/mixed_pipeline.groovy --input noisy=noisy.tif --input gt=gt.tif \
//         --param model=demo-denoiser --out results/
//
// Inputs: images "noisy" and "gt" (bound to the variables of the same names by `fijax script`);
// #@ parameters give the model and the Median radius (Fiji's script parameters; `--param` sets them).
#@ ImagePlus noisy
#@ ImagePlus gt
#@ String (value="demo-denoiser") model
#@ Double (value=2) radius
#@output Double dl_ssim
#@output Double median_ssim
#@output Double raw_ssim

import fijax.ij.FiJAX
import ij.IJ
import ij.ImagePlus
import ij.measure.ResultsTable

// 1. ImageJ's own filter (the classical baseline), on a 32-bit copy.
def median = noisy.duplicate()
median.setTitle("median")
IJ.run(median, "32-bit", "")
IJ.run(median, "Median...", "radius=${radius}")
median.show()

// 2. FiJAX prediction with a registered model (the same operation as run("FiJAX Predict", ...)).
def pred = FiJAX.run("predict", noisy, [model: model])
def dl = pred.image()
dl.setTitle("prediction")
dl.show()

// 3. FiJAX QC of both against the ground truth, with the raw input as the source row.
def qc = { ImagePlus output ->
    FiJAX.run("qc", [gt: gt, prediction: output, source: noisy], [maps: false])
}
def qcDL = qc(dl)
def qcMedian = qc(median)
// QC's values hold the slice means: pred_* (output vs GT) and source_* (raw input vs GT).
dl_ssim = qcDL.values["pred_ssim"] as double
median_ssim = qcMedian.values["pred_ssim"] as double
raw_ssim = qcDL.values["source_ssim"] as double

// One Results table: a row per method.
def rt = ResultsTable.getResultsTable()
[["Raw", raw_ssim, qcDL.values["source_psnr"]],
 ["Median (ImageJ)", median_ssim, qcMedian.values["pred_psnr"]],
 ["DL " + model, dl_ssim, qcDL.values["pred_psnr"]]].each { row ->
    rt.incrementCounter()
    rt.addValue("method", row[0] as String)
    rt.addValue("ssim", row[1] as double)
    rt.addValue("psnr", row[2] as double)
}
rt.show("Results")
IJ.log(String.format("SSIM vs GT: raw %.3f, median %.3f, DL %.3f", raw_ssim, median_ssim, dl_ssim))
