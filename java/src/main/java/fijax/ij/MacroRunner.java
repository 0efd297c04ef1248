package fijax.ij;

import ij.Macro;
import ij.macro.Interpreter;

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
	}

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
			thread.setName(name);
			Macro.setOptions(null);
		}
		if (interp.wasError()) {
			out.failed = true;
			out.error = interp.getErrorMessage();
		}
		if (Bridge.getLastError() != null) {
			out.failed = true;
			out.error = Bridge.getLastError();
		}
		if (out.failed) {
			out.line = interp.getLineNumber();
			if (out.error == null)
				out.error = "macro failed";
		}
		Bridge.clearError();
		return out;
	}
}
