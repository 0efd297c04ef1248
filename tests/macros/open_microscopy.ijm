// open() on a CZI/ND2/LIF/OME-Zarr file (fijax reads it through bioio), then a max projection.
#@ File file

open(file);
getVoxelSize(pw, ph, pd, unit);
print(getTitle() + " " + nSlices + " " + pw + " " + pd + " " + unit);
run("Z Project...", "projection=[Max Intensity]");
rename("mip");
