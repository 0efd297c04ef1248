import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * Test harness standing in for a user's Fiji: a plain JVM with ImageJ 1.x, ij1-patcher and the shim
 * jar, no Python. ij1-patcher makes ImageJ headless (as Fiji's --headless does), then the macro file
 * given as the first argument runs; its printed output goes to stdout.
 */
public class HeadlessFiji {
	public static void main(String[] args) throws Exception {
		ClassLoader loader = ClassLoader.getSystemClassLoader();
		// Patch ImageJ's classes before any of them is loaded (they are only referenced below).
		new net.imagej.patcher.LegacyInjector().injectHooks(loader, true);
		String macro = new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8);
		// A desktop Fiji has its command table from the start; headless it is built on the first run().
		ij.IJ.run("Close All");
		String out = ij.IJ.runMacro(macro, args.length > 1 ? args[1] : "");
		System.out.println("macro returned: " + out);
		System.exit("[aborted]".equals(out) ? 2 : 0);
	}
}
