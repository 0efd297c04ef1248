package fijax.ij;

import ij.ImagePlus;

import java.util.Map;

/**
 * Runs fijax operations (the Python ops table) for {@link FiJAX}. In-process the implementation is
 * a Python object (a JPype proxy) that {@link FiJAX} installs on first use through the transport.
 */
public interface OpRunner {

	/** Names of the operations, sorted. */
	String[] operations();

	/**
	 * Names of the image inputs of {@code operation}: the required ones first, then the optional
	 * ones; {@link FiJAX#run(String, ImagePlus, Map)} binds its image to the first.
	 */
	String[] imageInputs(String operation);

	/**
	 * Run {@code operation}.
	 *
	 * @param operation the operation name, e.g. "puredenoise"
	 * @param images input images by input name
	 * @param options option values (String, Number, Boolean or a List of them) by option name
	 * @param outDir folder for files the operation writes (figures, CSV), or null for none
	 * @return the operation's images, table rows, values and files
	 * @throws Exception with a message naming the cause when the operation fails
	 */
	FiJAX.Result run(String operation, Map<String, ImagePlus> images, Map<String, Object> options, String outDir)
			throws Exception;
}
