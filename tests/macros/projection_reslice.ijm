// Stack projections and a reslice (Image > Stacks > Z Project..., Image > Stacks > Reslice...).
#@ String (value = "stack") stackTitle

selectImage(stackTitle);
run("Z Project...", "projection=[Max Intensity]");
rename("max");
selectImage(stackTitle);
run("Z Project...", "projection=[Average Intensity]");
rename("mean");
selectImage(stackTitle);
run("Z Project...", "projection=[Sum Slices]");
rename("sum");
selectImage(stackTitle);
run("Z Project...", "start=2 stop=3 projection=[Min Intensity]");
rename("min23");
selectImage(stackTitle);
run("Reslice [/]...", "output=1.000 start=Top avoid");
rename("resliced");
