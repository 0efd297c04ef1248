package fijax.ij;

import net.imagej.patcher.EssentialLegacyHooks;

/**
 * ij1-patcher hooks: collect ImageJ's log (the macro {@code print} output) instead of printing it,
 * and remember the last exception a plugin raised.
 */
public class FijaxHooks extends EssentialLegacyHooks {
	private final StringBuilder log = new StringBuilder();
	private volatile Throwable lastThrowable;
	private volatile boolean echo;

	/** Also print log lines to stdout (useful from the command line). */
	public void setEcho(boolean echo) {
		this.echo = echo;
	}

	@Override
	public void log(String message) {
		if (message == null)
			return;
		synchronized (log) {
			log.append(message).append('\n');
		}
		if (echo)
			System.out.println(message);
	}

	@Override
	public void error(Throwable t) {
		lastThrowable = t;
		super.error(t);
	}

	/** Return the collected log and empty it. */
	public String drainLog() {
		synchronized (log) {
			String s = log.toString();
			log.setLength(0);
			return s;
		}
	}

	/** Return the last plugin exception and forget it. */
	public Throwable takeThrowable() {
		Throwable t = lastThrowable;
		lastThrowable = null;
		return t;
	}
}
