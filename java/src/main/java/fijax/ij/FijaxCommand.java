package fijax.ij;

import ij.IJ;
import ij.ImagePlus;
import ij.Macro;
import ij.WindowManager;
import ij.measure.ResultsTable;
import ij.plugin.PlugIn;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ImageJ 1.x command behind every FiJAX menu entry; the plugin argument is the command label.
 * Resolves input images (option keys named by the transport; the first defaults to the active
 * image), runs the command through the {@link Transport}, shows the returned images and appends
 * rows to the Results table.
 */
public class FijaxCommand implements PlugIn {

	/** Option values that name a method computed by the server rather than an open image. */
	static final java.util.Set<String> METHOD_WORDS = new java.util.HashSet<String>(
			java.util.Arrays.asList("puredenoise"));

	@Override
	public void run(String label) {
		String options = Macro.getOptions();
		if (options == null)
			options = "";
		try {
			Transport t = Bridge.requireTransport();
			Map<String, ImagePlus> inputs = new LinkedHashMap<String, ImagePlus>();
			String[] keys = t.imageInputs(label);
			for (int i = 0; i < keys.length; i++) {
				String title = Macro.getValue(options, keys[i], null);
				ImagePlus imp;
				if (title != null) {
					imp = WindowManager.getImage(title);
					// a method word in place of an optional image (baseline=puredenoise): passed on as an option
					if (imp == null && i > 0 && METHOD_WORDS.contains(title.trim().toLowerCase()))
						continue;
					if (imp == null)
						throw new IllegalArgumentException("no open image titled '" + title + "' (option " + keys[i] + "=)");
				} else if (i == 0) {
					imp = WindowManager.getCurrentImage();
					if (imp == null)
						throw new IllegalArgumentException("there are no images open (" + label + " needs an input image)");
				} else {
					continue;
				}
				inputs.put(keys[i], imp);
			}
			CommandResult result = t.run(label, options.trim(), inputs);
			if (result == null)
				return;
			for (Map.Entry<String, ImagePlus> e : result.images.entrySet()) {
				ImagePlus imp = e.getValue();
				imp.setTitle(e.getKey());
				imp.show();
			}
			if (!result.rows.isEmpty()) {
				ResultsTable rt = ResultsTable.getResultsTable();
				if (rt == null) {
					rt = new ResultsTable();
				}
				appendRows(rt, result.rows);
				rt.show("Results");
			}
			if (result.message != null && !result.message.isEmpty())
				IJ.log(result.message);
		} catch (Throwable e) {
			Bridge.fail(label + ": " + Bridge.describe(e));
		}
	}

	/**
	 * Append {@code rows} to {@code rt}, leaving a cell empty (not ImageJ's 0) where a row has no value
	 * for a column: the rows of another command (PureDenoise's {@code alpha}) or of this one (QC's
	 * {@code file}) do not show up as {@code 0.0} in each other's columns. {@code getResult} reads such a
	 * cell as NaN.
	 */
	static void appendRows(ResultsTable rt, java.util.List<Map<String, Object>> rows) {
		int first = rt.size();
		java.util.Set<String> before = new java.util.LinkedHashSet<String>();
		String[] headings = rt.getHeadings();
		for (int i = 0; headings != null && i < headings.length; i++)
			if (!"Label".equals(headings[i]) && !" ".equals(headings[i]))
				before.add(headings[i]);
		java.util.Set<String> all = new java.util.LinkedHashSet<String>(before);
		for (Map<String, Object> row : rows)
			all.addAll(row.keySet());
		for (Map<String, Object> row : rows) {
			rt.incrementCounter();
			int r = rt.size() - 1;
			for (String col : all) {
				Object v = row.get(col);
				if (v instanceof Number) {
					double d = ((Number) v).doubleValue();
					if (Double.isNaN(d))
						rt.setValue(col, r, "");
					else
						rt.setValue(col, r, d);
				} else if (v != null)
					rt.setValue(col, r, String.valueOf(v));
				else
					rt.setValue(col, r, "");
			}
		}
		for (String col : all)
			if (!before.contains(col))
				for (int r = 0; r < first; r++)
					rt.setValue(col, r, "");
	}
}
