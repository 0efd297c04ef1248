// Overlays: outline each particle into the image overlay (no ROI Manager), as figure macros do.
setThreshold(100, 255);
run("Analyze Particles...", "size=20-Infinity show=Nothing clear include overlay");
n = Overlay.size;
makeRectangle(0, 0, 5, 5);
Overlay.addSelection("red");
run("Select None");
print("overlay " + n + " -> " + Overlay.size);
