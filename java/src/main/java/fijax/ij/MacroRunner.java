package fijax.ij;

import ij.IJ;
import ij.Macro;
import ij.macro.Interpreter;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.UnsupportedEncodingException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one macro headless and reports how it ended, instead of printing errors: the outcome holds
 * the return value, the error message and the macro line where the error happened.
 */
public final class MacroRunner {

	/** How a macro ended. */
	public static final class Outcome {
		public String returnValue;
		public boolean failed;
		public String error;
		public int line;
		public boolean exited;
		/** ImageJ's own error report (message, line, the line's tokens with the failing one marked). */
		public String report;
		/**
		 * Values of the macro's {@code #@output} parameters, by name: Long (integer types), Double,
		 * Boolean, String, ImagePlus (image types: the image whose ID or title the variable holds),
		 * null when the macro never set the variable.
		 */
		public final Map<String, Object> outputs = new LinkedHashMap<String, Object>();
	}

	private static final Pattern IN_LINE = Pattern.compile("in line (\\d+)");

	private MacroRunner() {
	}

	/**
	 * Run a macro with SciJava script parameters ({@code #@} lines, see {@link MacroParameters}):
	 * {@code params} gives input values as text; outputs come back in {@link Outcome#outputs}.
	 *
	 * @throws IllegalArgumentException before the macro starts, naming a missing or invalid parameter
	 */
	public static synchronized Outcome run(String code, String arg, Map<String, ?> params) {
		MacroParameters.Prepared prepared = MacroParameters.prepare(code, params);
		Outcome out = run(prepared.code, arg);
		for (MacroParameters.Param p : prepared.outputs())
			out.outputs.put(p.name, output(p, lastInterpreter));
		return out;
	}

	private static Interpreter lastInterpreter;

	private static Object output(MacroParameters.Param p, Interpreter interp) {
		if (interp == null)
			return null;
		String name = p.name;
		String text = interp.getVariableAsString(name);
		boolean defined = false;
		for (String v : interp.getVariableNames() == null ? new String[0] : interp.getVariableNames())
			defined |= v.equals(name);
		if (!defined || text == null)
			return null;
		String t = p.simpleType().toLowerCase(java.util.Locale.ROOT);
		try {
			if (t.equals("int") || t.equals("integer") || t.equals("long") || t.equals("short") || t.equals("byte"))
				return Long.valueOf(Math.round(Double.parseDouble(text)));
			if (t.equals("float") || t.equals("double") || t.equals("number"))
				return Double.valueOf(text);
			if (t.equals("boolean"))
				return Boolean.valueOf(text.equals("true") || (!text.equals("false") && Double.parseDouble(text) != 0));
		} catch (NumberFormatException e) {
			return text;
		}
		if (t.equals("imageplus") || t.equals("dataset") || t.equals("imgplus")) {
			ij.ImagePlus imp = null;
			try {
				imp = ij.WindowManager.getImage((int) Double.parseDouble(text));
			} catch (NumberFormatException e) {
				imp = ij.WindowManager.getImage(text);
			}
			return imp;
		}
		return text;
	}

	public static synchronized Outcome run(String code, String arg) {
		Outcome out = new Outcome();
		Bridge.clearError();
		IJ.getErrorMessage(); // clears an error left by earlier code
		Interpreter interp = new Interpreter();
		lastInterpreter = interp;
		Thread thread = Thread.currentThread();
		String name = thread.getName();
		// ImageJ treats a thread as a macro thread (Macro.getOptions) only when its name starts with
		// "Run$_", and Macro.abort() (called by IJ.error, e.g. when open() or saveAs() fails) stops
		// the macro only in a thread whose name ends with "Macro$": without it the macro carries on.
		thread.setName((name.startsWith("Run$_") ? name : "Run$_" + name) + " Macro$");
		// Headless, ImageJ prints its macro error report (with the right line number) to stderr:
		// capture it while the macro runs. Macros run one at a time (synchronized).
		PrintStream stderr = System.err;
		ByteArrayOutputStream captured = new ByteArrayOutputStream();
		System.setErr(new PrintStream(captured, true));
		try {
			out.returnValue = interp.run(code, arg == null ? "" : arg);
		} catch (Throwable t) {
			String msg = t.getMessage();
			if (msg != null && msg.equals(Macro.MACRO_CANCELED)) {
				out.exited = true; // exit() or an IJ.error abort: told apart below
			} else {
				out.failed = true;
				out.error = Bridge.describe(t);
			}
		} finally {
			System.setErr(stderr);
			thread.setName(name);
			Macro.setOptions(null);
		}
		String report;
		try {
			report = captured.toString("UTF-8");
		} catch (UnsupportedEncodingException e) {
			report = captured.toString();
		}
		if (interp.wasError()) {
			out.failed = true;
			out.error = interp.getErrorMessage();
		}
		// An error ImageJ reported through IJ.error (a file that cannot be opened or saved, a
		// command that refused its input) fails the macro, whether or not it aborted it.
		String ijError = IJ.getErrorMessage();
		if (!out.failed && ijError != null && !ijError.endsWith(Macro.MACRO_CANCELED)) {
			out.failed = true;
			out.exited = false;
			out.error = ijError.trim().replaceAll("\\s*\\n\\s*", " ");
		}
		int bridgeLine = 0;
		if (Bridge.getLastError() != null) {
			out.failed = true;
			out.error = Bridge.getLastError();
			bridgeLine = Bridge.getLastErrorLine();
		}
		int reportLine = 0;
		Matcher m = IN_LINE.matcher(report);
		if (m.find())
			reportLine = Integer.parseInt(m.group(1));
		if (out.failed) {
			out.report = report.trim();
			out.line = bridgeLine > 0 ? bridgeLine : reportLine > 0 ? reportLine : interp.getLineNumber();
			if (out.error == null)
				out.error = "macro failed";
		} else if (!report.isEmpty()) {
			stderr.print(report);
		}
		Bridge.clearError();
		return out;
	}
}
