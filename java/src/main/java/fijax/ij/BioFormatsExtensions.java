package fijax.ij;

import ij.IJ;
import ij.macro.ExtensionDescriptor;
import ij.macro.Functions;
import ij.macro.MacroExtension;
import ij.plugin.PlugIn;

import java.util.ArrayList;
import java.util.List;

/**
 * The Bio-Formats macro extensions most macros use, served by fijax through bioio:
 * {@code run("Bio-Formats Macro Extensions"); Ext.setId(path); Ext.getSeriesCount(n); Ext.setSeries(i);
 * Ext.getSizeZ(z); Ext.getSeriesName(s); Ext.getPixelsPhysicalSizeX(px); Ext.openImagePlus(path); Ext.close();}
 * Sizes come from the file's metadata (macro function {@code bioformats.info} of fijax); series are 0-based
 * as in Bio-Formats.
 */
public class BioFormatsExtensions implements PlugIn, MacroExtension {
	private static final int OUT_NUM = ARG_OUTPUT + ARG_NUMBER;
	private static final int OUT_STR = ARG_OUTPUT + ARG_STRING;
	private String id;
	private int series;
	private final List<String[]> info = new ArrayList<String[]>();

	@Override
	public void run(String arg) {
		if (IJ.macroRunning())
			Functions.registerExtensions(this);
	}

	@Override
	public ExtensionDescriptor[] getExtensionFunctions() {
		List<ExtensionDescriptor> d = new ArrayList<ExtensionDescriptor>();
		d.add(ExtensionDescriptor.newDescriptor("setId", this, ARG_STRING));
		d.add(ExtensionDescriptor.newDescriptor("getId", this, OUT_STR));
		d.add(ExtensionDescriptor.newDescriptor("close", this));
		d.add(ExtensionDescriptor.newDescriptor("getSeriesCount", this, OUT_NUM));
		d.add(ExtensionDescriptor.newDescriptor("setSeries", this, ARG_NUMBER));
		d.add(ExtensionDescriptor.newDescriptor("getSeries", this, OUT_NUM));
		d.add(ExtensionDescriptor.newDescriptor("getSeriesName", this, OUT_STR));
		for (String s : new String[] {"getSizeX", "getSizeY", "getSizeZ", "getSizeC", "getSizeT", "getImageCount",
				"getPixelsPhysicalSizeX", "getPixelsPhysicalSizeY", "getPixelsPhysicalSizeZ"})
			d.add(ExtensionDescriptor.newDescriptor(s, this, OUT_NUM));
		d.add(ExtensionDescriptor.newDescriptor("openImagePlus", this, ARG_STRING));
		return d.toArray(new ExtensionDescriptor[0]);
	}

	@Override
	public String handleExtension(String name, Object[] args) {
		try {
			return handle(name, args);
		} catch (Exception e) {
			Bridge.fail("Ext." + name + ": " + Bridge.describe(e));
			return null;
		}
	}

	private String handle(String name, Object[] args) throws Exception {
		if (name.equals("setId")) {
			id = (String) args[0];
			series = 0;
			info.clear();
			String text = Bridge.requireTransport().call("bioformats.info", new String[] {id});
			for (String line : text.split("\n"))
				if (!line.isEmpty())
					info.add(line.split("\t", -1));
			return null;
		}
		if (name.equals("openImagePlus")) {
			IJ.run("Bio-Formats Importer", "open=[" + args[0] + "]");
			return null;
		}
		if (name.equals("close")) {
			id = null;
			info.clear();
			return null;
		}
		if (id == null)
			throw new IllegalStateException("no file: call Ext.setId(path) first");
		if (name.equals("getId")) {
			((String[]) args[0])[0] = id;
		} else if (name.equals("getSeriesCount")) {
			((Double[]) args[0])[0] = (double) info.size();
		} else if (name.equals("setSeries")) {
			int s = ((Double) args[0]).intValue();
			if (s < 0 || s >= info.size())
				throw new IllegalArgumentException("no series " + s + " in " + id + " (it has " + info.size()
						+ ", numbered from 0)");
			series = s;
		} else if (name.equals("getSeries")) {
			((Double[]) args[0])[0] = (double) series;
		} else if (name.equals("getSeriesName")) {
			((String[]) args[0])[0] = info.get(series)[0];
		} else {
			String[] f = info.get(series); // name X Y Z C T px py pz
			String[] keys = {"getSizeX", "getSizeY", "getSizeZ", "getSizeC", "getSizeT", "getPixelsPhysicalSizeX",
					"getPixelsPhysicalSizeY", "getPixelsPhysicalSizeZ"};
			double v;
			if (name.equals("getImageCount")) {
				v = Double.parseDouble(f[3]) * Double.parseDouble(f[4]) * Double.parseDouble(f[5]);
			} else {
				int k = java.util.Arrays.asList(keys).indexOf(name);
				v = Double.parseDouble(f[k + 1]);
			}
			((Double[]) args[0])[0] = v;
		}
		return null;
	}
}
