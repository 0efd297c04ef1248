package fijax.ij;

import ij.IJ;
import ij.Menus;
import ij.macro.Interpreter;

import java.util.Hashtable;

/**
 * Static entry points of the shim: the transport registry, runtime command registration and the
 * macro {@code call()} functions, e.g.
 * {@code v = call("fijax.ij.Bridge.call", "version");}.
 */
public final class Bridge {
	private static volatile Transport transport;
	private static volatile String lastError;
	private static volatile int lastErrorLine;

	private Bridge() {
	}

	/** Install the transport that executes FiJAX commands (a Python proxy in-process). */
	public static void setTransport(Transport t) {
		transport = t;
	}

	public static Transport getTransport() {
		return transport;
	}

	/** The message of the last failed FiJAX command or call, or null; cleared by {@link #clearError}. */
	public static String getLastError() {
		return lastError;
	}

	/** The macro line of the last failed FiJAX command or call, or 0 when unknown. */
	public static int getLastErrorLine() {
		return lastErrorLine;
	}

	public static void clearError() {
		lastError = null;
		lastErrorLine = 0;
	}

	static void setLastError(String message) {
		lastError = message;
	}

	static Transport requireTransport() {
		Transport t = transport;
		if (t == null) {
			// Desktop Fiji: no Python in this JVM, so reach a running fijax server (address and token
			// from system properties, environment, ImageJ preferences or the server's token file).
			HttpTransport http = HttpTransport.fromConfig();
			if (http == null)
				throw new IllegalStateException("no fijax transport: start ImageJ from fijax (Python) or "
						+ "run 'fijax serve' and set fijax.url/fijax.token (or call fijax.ij.HttpTransport.setServer)");
			synchronized (Bridge.class) {
				if (transport == null)
					transport = http;
				t = transport;
			}
		}
		return t;
	}

	/**
	 * Register {@code label} as an ImageJ 1.x command handled by {@link FijaxCommand}.
	 *
	 * @return true when the command table exists and now holds the label
	 */
	@SuppressWarnings("unchecked")
	public static boolean registerCommand(String label) {
		Hashtable<String, String> table = Menus.getCommands();
		if (table == null)
			return false;
		table.put(label, FijaxCommand.class.getName() + "(\"" + label + "\")");
		return true;
	}

	/** Add {@code label} to ImageJ's commands, run by the plugin class {@code className}. */
	public static boolean registerPlugin(String label, String className) {
		Hashtable<String, String> table = Menus.getCommands();
		if (table == null)
			return false;
		table.put(label, className);
		return true;
	}

	/** Abort the running macro with {@code message}, so the caller sees the macro line. */
	static void fail(String message) {
		lastError = message;
		Interpreter interp = Interpreter.getInstance();
		lastErrorLine = currentLine(interp);
		if (interp != null) {
			interp.abort(message);
		} else {
			IJ.log("FiJAX error: " + message);
		}
	}

	/** Macro {@code call()} with no arguments besides the function name. */
	public static String call(String function) {
		return dispatch(function);
	}

	public static String call(String function, String a) {
		return dispatch(function, a);
	}

	public static String call(String function, String a, String b) {
		return dispatch(function, a, b);
	}

	public static String call(String function, String a, String b, String c) {
		return dispatch(function, a, b, c);
	}

	public static String call(String function, String a, String b, String c, String d) {
		return dispatch(function, a, b, c, d);
	}

	private static String dispatch(String function, String... args) {
		try {
			String out = requireTransport().call(function, args);
			return out == null ? "" : out;
		} catch (Throwable t) {
			fail(describe(t));
			return "";
		}
	}

	/**
	 * The macro line being executed. Interpreter only computes its line number while reporting its
	 * own errors, so read the program counter (package-private fields, hence reflection).
	 */
	static int currentLine(Interpreter interp) {
		if (interp == null)
			return 0;
		try {
			java.lang.reflect.Field pcField = Interpreter.class.getDeclaredField("pc");
			java.lang.reflect.Field pgmField = Interpreter.class.getDeclaredField("pgm");
			pcField.setAccessible(true);
			pgmField.setAccessible(true);
			int pc = pcField.getInt(interp);
			Object pgm = pgmField.get(interp);
			java.lang.reflect.Field linesField = pgm.getClass().getDeclaredField("lineNumbers");
			linesField.setAccessible(true);
			int[] lines = (int[]) linesField.get(pgm);
			return pc >= 0 && pc < lines.length ? lines[pc] : 0;
		} catch (Throwable t) {
			return 0;
		}
	}

	/** A one-line description of a failure, without Java stack frames. */
	static String describe(Throwable t) {
		String msg = t.getMessage();
		if (msg == null || msg.isEmpty())
			msg = t.getClass().getSimpleName();
		return msg.trim();
	}
}
