// A FiJAX pipeline from a macro: train a tiny Noise2Void model on the noisy image, restore it, and
// measure the restoration against the ground truth with FiJAX QC.
#@ String (value = "corpus-n2v") model
#@ Integer (value = 2) epochs
#@output Double psnr

run("FiJAX Train", "model=" + model + " task=n2v source=noisy preset=quick epochs=" + epochs + " steps_per_epoch=4 patch_size=32 val_fraction=0.25 seed=1");
selectImage("noisy");
run("FiJAX Predict", "model=" + model + " output=restored");
run("Clear Results");
run("FiJAX QC", "ground=gt prediction=restored source=noisy");
psnr = getResult("psnr", 0);
print("psnr " + psnr);
