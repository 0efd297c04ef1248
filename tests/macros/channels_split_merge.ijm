// Multi-channel: split, process one channel, merge back as a composite.
#@ String (value = "cells") image
#@ Double (value = 2.0) factor

selectImage(image);
getDimensions(w, h, channels, slices, frames);
run("Split Channels");
selectImage("C2-" + image);
run("Multiply...", "value=" + factor);
run("Merge Channels...", "c1=[C1-" + image + "] c2=[C2-" + image + "] create");
rename("merged");
getDimensions(w, h, c2, s2, f2);
print("channels " + channels + " -> " + c2);
