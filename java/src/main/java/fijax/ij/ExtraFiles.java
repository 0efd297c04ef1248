package fijax.ij;

import ij.ImagePlus;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Microscopy files that plain ImageJ cannot open (CZI, ND2, LIF, OME-Zarr) or opens without their
 * metadata (OME-TIFF), opened through fijax's bioio reader (the "Bio-Formats Windowless Importer"
 * fijax serves). {@link HeadlessFixes} makes {@code Opener.open(path)} and
 * {@code Opener.openImage(path)} (the macro {@code open(path)}, {@code IJ.openImage}) ask here first.
 */
public final class ExtraFiles {
	private static final String[] SUFFIXES = {".ome.tif", ".ome.tiff", ".ome.zarr", ".zarr", ".czi", ".nd2", ".lif"};

	private ExtraFiles() {
	}

	/** Whether fijax opens files named like {@code path} itself. */
	public static boolean handles(String path) {
		if (path == null || Bridge.getTransport() == null)
			return false;
		String name = path.toLowerCase(Locale.ROOT);
		while (name.endsWith("/") || name.endsWith("\\"))
			name = name.substring(0, name.length() - 1);
		for (String s : SUFFIXES)
			if (name.endsWith(s))
				return true;
		return false;
	}

	/** The file's first series as an image (not shown), or null when fijax does not handle the name. */
	public static ImagePlus open(String path) {
		if (!handles(path))
			return null;
		try {
			String options = "open=[" + path + "]";
			CommandResult r = Bridge.getTransport().run("Bio-Formats Windowless Importer", options,
					new LinkedHashMap<String, ImagePlus>());
			for (Map.Entry<String, ImagePlus> e : r.images.entrySet()) {
				ImagePlus imp = e.getValue();
				imp.setTitle(e.getKey());
				return imp;
			}
			throw new IllegalStateException("no image in " + path);
		} catch (RuntimeException e) {
			throw e;
		} catch (Exception e) {
			throw new RuntimeException(Bridge.describe(e), e);
		}
	}
}
