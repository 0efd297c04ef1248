package fijax.ij;

import ij.ImagePlus;

import java.util.Map;

/**
 * Where FiJAX commands are executed.
 *
 * <p>In-process (the fijax Python package started this JVM) the implementation is a Python object
 * (a JPype proxy) registered with {@link Bridge#setTransport}. A desktop Fiji can later plug in an
 * HTTP implementation that sends the same requests to a fijax server; the commands and the macro
 * {@code call()} entry points do not change.</p>
 */
public interface Transport {

	/**
	 * Names of the option keys of {@code command} that name input images (by title). The command
	 * resolves each one to an open image ({@code WindowManager.getImage(title)}); the first one
	 * defaults to the active image when the option is absent.
	 *
	 * @param command the command label, e.g. "FiJAX Gaussian"
	 * @return the option keys, possibly empty
	 */
	String[] imageInputs(String command);

	/**
	 * Run a command.
	 *
	 * @param command the command label
	 * @param options the macro options string (recordable {@code key=value} syntax)
	 * @param inputs the resolved input images by option key
	 * @return images to show and rows to add to the Results table
	 * @throws Exception with a message naming the cause when the command fails
	 */
	CommandResult run(String command, String options, Map<String, ImagePlus> inputs) throws Exception;

	/**
	 * Evaluate a macro {@code call("fijax.ij.Bridge.call", function, args...)}.
	 *
	 * @param function the function name
	 * @param args its string arguments
	 * @return a string (numbers are formatted by the transport)
	 * @throws Exception with a message naming the cause when the function fails
	 */
	String call(String function, String[] args) throws Exception;
}
