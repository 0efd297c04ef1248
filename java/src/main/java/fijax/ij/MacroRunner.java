package fijax.ij;

import ij.Macro;
import ij.macro.Interpreter;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.UnsupportedEncodingException;
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
	}

	private static final Pattern IN_LINE = Pattern.compile("in line (\\d+)");

	private MacroRunner() {
	}

	public static synchronized Outcome run(String code, String arg) {
		Outcome out = new Outcome();
		Bridge.clearError();
		Interpreter interp = new Interpreter();
		Thread thread = Thread.currentThread();
		String name = thread.getName();
		// ImageJ treats a thread as a macro thread (Macro.getOptions) only when its name says so.
		if (!name.startsWith("Run$_"))
			thread.setName("Run$_" + name);
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
				out.exited = true;
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
