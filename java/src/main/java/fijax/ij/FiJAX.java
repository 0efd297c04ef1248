package fijax.ij;

import ij.ImagePlus;
import ij.measure.ResultsTable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Java API: run a fijax operation from Java code (or a Groovy/JavaScript/BeanShell script) running in
 * the JVM fijax started, e.g.
 *
 * <pre>
 * Map&lt;String, Object&gt; opts = new HashMap&lt;&gt;();
 * opts.put("cycle_spins", 2);
 * FiJAX.Result r = FiJAX.run("puredenoise", imp, opts);
 * ImagePlus denoised = r.image();          // first output image
 * ResultsTable table = r.table;            // the operation's rows
 * </pre>
 *
 * The same Python operations the macro commands adapt (see {@code fijax.ops}); options are
 * validated by the operation's model, and a failure throws {@link FiJAXException} with the message a
 * macro would show.
 */
public final class FiJAX {
	private static volatile OpRunner runner;

	/** The macro {@code call()} function that installs the Python {@link OpRunner}. */
	public static final String INSTALL_FUNCTION = "fijax.java_api.install";

	private FiJAX() {
	}

	/** A failed operation; the message names the cause (bad option, missing input, ...). */
	public static class FiJAXException extends RuntimeException {
		private static final long serialVersionUID = 1L;

		public FiJAXException(String message, Throwable cause) {
			super(message, cause);
		}
	}

	/** What an operation returned. */
	public static class Result {
		/** Output images by title, in order. */
		public final Map<String, ImagePlus> images = new LinkedHashMap<String, ImagePlus>();
		/** The operation's table (or its values as one row when it gives no table); never null. */
		public final ResultsTable table = new ResultsTable();
		/** Scalar values (verdicts, parameters, model name ...): String, Double or Boolean. */
		public final Map<String, Object> values = new LinkedHashMap<String, Object>();
		/** Files the operation wrote, by name. */
		public final Map<String, String> files = new LinkedHashMap<String, String>();

		public void addImage(String title, ImagePlus imp) {
			imp.setTitle(title);
			images.put(title, imp);
		}

		/** Append one table row; values are Numbers or Strings. */
		public void addRow(Map<String, Object> row) {
			table.incrementCounter();
			for (Map.Entry<String, Object> cell : row.entrySet()) {
				Object v = cell.getValue();
				if (v instanceof Number)
					table.addValue(cell.getKey(), ((Number) v).doubleValue());
				else
					table.addValue(cell.getKey(), String.valueOf(v));
			}
		}

		public void putValue(String key, Object value) {
			values.put(key, value);
		}

		public void putFile(String key, String path) {
			files.put(key, path);
		}

		/** The first output image, or null when there is none. */
		public ImagePlus image() {
			return images.isEmpty() ? null : images.values().iterator().next();
		}

		/** The output image titled {@code title} (or whose title ends with it), or null. */
		public ImagePlus image(String title) {
			ImagePlus imp = images.get(title);
			if (imp != null)
				return imp;
			for (Map.Entry<String, ImagePlus> e : images.entrySet())
				if (e.getKey().endsWith(title))
					return e.getValue();
			return null;
		}

		/** A column of the table as doubles (NaN where a cell is text). */
		public double[] column(String heading) {
			int n = table.size();
			double[] out = new double[n];
			for (int i = 0; i < n; i++)
				out[i] = table.getValue(heading, i);
			return out;
		}
	}

	/** Install the object that runs operations (the Python side calls this). */
	public static void setRunner(OpRunner r) {
		runner = r;
	}

	static synchronized OpRunner requireRunner() {
		OpRunner r = runner;
		if (r != null)
			return r;
		Transport t = Bridge.getTransport();
		if (t == null)
			throw new IllegalStateException("FiJAX needs the fijax Python side: start ImageJ from fijax "
					+ "(fijax script/macro, or fijax.bridge.imagej() in Python)");
		try {
			t.call(INSTALL_FUNCTION, new String[0]);
		} catch (Exception e) {
			throw new FiJAXException("cannot reach fijax: " + Bridge.describe(e), e);
		}
		r = runner;
		if (r == null)
			throw new IllegalStateException("the fijax Python side did not install its operation runner");
		return r;
	}

	/** Names of the operations fijax offers (sorted). */
	public static List<String> operations() {
		return Collections.unmodifiableList(new ArrayList<String>(Arrays.asList(requireRunner().operations())));
	}

	/** Image input names of {@code operation} (required first). */
	public static List<String> imageInputs(String operation) {
		return Collections.unmodifiableList(new ArrayList<String>(Arrays.asList(requireRunner().imageInputs(operation))));
	}

	/**
	 * Run an ImageJ macro headless with values for its SciJava script parameters, e.g.
	 * {@code FiJAX.runMacro(code, Map.of("input", "/data", "radius", 2)).outputs.get("count")}.
	 * Values are given as text or numbers; {@code #@output} values come back in
	 * {@link MacroRunner.Outcome#outputs}.
	 *
	 * @throws FiJAXException naming a missing or invalid parameter, or the macro line that failed
	 */
	public static MacroRunner.Outcome runMacro(String code, Map<String, ?> params) {
		MacroRunner.Outcome out;
		try {
			out = MacroRunner.run(code, "", params);
		} catch (IllegalArgumentException e) {
			throw new FiJAXException(e.getMessage(), e);
		}
		if (out.failed)
			throw new FiJAXException("macro line " + out.line + ": " + out.error, null);
		return out;
	}

	/** Run {@code operation} on {@code image} (bound to its first image input). */
	public static Result run(String operation, ImagePlus image, Map<String, Object> options) {
		Map<String, ImagePlus> images = new LinkedHashMap<String, ImagePlus>();
		if (image != null) {
			String[] names;
			try {
				names = requireRunner().imageInputs(operation);
			} catch (RuntimeException e) {
				throw new FiJAXException(operation + ": " + Bridge.describe(e), e);
			}
			if (names.length == 0)
				throw new FiJAXException("operation '" + operation + "' takes no image input", null);
			images.put(names[0], image);
		}
		return run(operation, images, options, null);
	}

	/** Run {@code operation} without options. */
	public static Result run(String operation, ImagePlus image) {
		return run(operation, image, null);
	}

	/** Run {@code operation} on named inputs (e.g. "gt", "prediction"). */
	public static Result run(String operation, Map<String, ImagePlus> images, Map<String, Object> options) {
		return run(operation, images, options, null);
	}

	/**
	 * Run {@code operation} on named inputs; files it writes (figures, CSV) go to {@code outDir}.
	 *
	 * @throws FiJAXException when the operation fails (bad option, missing input, ...)
	 */
	public static Result run(String operation, Map<String, ImagePlus> images, Map<String, Object> options,
			String outDir) {
		OpRunner r = requireRunner();
		Map<String, ImagePlus> in = images == null ? new LinkedHashMap<String, ImagePlus>() : images;
		Map<String, Object> opts = options == null ? new LinkedHashMap<String, Object>() : options;
		try {
			Result result = r.run(operation, in, opts, outDir);
			return result == null ? new Result() : result;
		} catch (FiJAXException e) {
			throw e;
		} catch (Exception e) {
			throw new FiJAXException(operation + ": " + Bridge.describe(e), e);
		}
	}
}
