import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * Test harness standing in for a user's Fiji: a plain JVM with ImageJ 1.x, ij1-patcher and the shim
 * jar, no Python. ij1-patcher makes ImageJ headless (as Fiji's --headless does), then each macro file
 * given as an argument runs in turn (a failing macro does not stop the next). Everything, stderr
 * included, goes to stdout, each macro's part after a line "=== macro N ===".
 */
public class HeadlessFiji {
	public static void main(String[] args) throws Exception {
		System.setErr(System.out);
		ClassLoader loader = ClassLoader.getSystemClassLoader();
		// Patch ImageJ's classes before any of them is loaded (they are only referenced below).
		new net.imagej.patcher.LegacyInjector().injectHooks(loader, true);
		// A desktop Fiji has its command table from the start; headless it is built on the first run().
		ij.IJ.run("Close All");
		for (int i = 0; i < args.length; i++) {
			System.out.println("=== macro " + i + " ===");
			String macro = new String(Files.readAllBytes(Paths.get(args[i])), StandardCharsets.UTF_8);
			String out = ij.IJ.runMacro(macro, "");
			System.out.println("macro returned: " + out);
			System.out.flush();
			ij.IJ.run("Close All");
		}
		System.exit(0);
	}
}
