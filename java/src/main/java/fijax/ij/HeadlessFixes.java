package fijax.ij;

import javassist.ClassPool;
import javassist.CtClass;
import javassist.CtMethod;
import javassist.LoaderClassPath;

/**
 * Fixes for ImageJ 1.x behaviour that is only wrong without a display, applied with Javassist
 * (as ij1-patcher does) before the classes are loaded.
 *
 * <p>{@code Analyzer.displayResults()} deletes every Results row that the (absent) Results window
 * does not show, so headless each {@code run("Measure")} left only its own row. Headless, the
 * patched method returns at once: rows stay in the table (which is what a macro reads).</p>
 */
public final class HeadlessFixes {

	private HeadlessFixes() {
	}

	/** Patch {@code loader}'s ImageJ classes; call before any of them is loaded. */
	public static void apply(ClassLoader loader) throws Exception {
		ClassPool pool = new ClassPool(false);
		pool.appendClassPath(new LoaderClassPath(loader));
		CtClass analyzer = pool.get("ij.plugin.filter.Analyzer");
		CtMethod display = analyzer.getDeclaredMethod("displayResults");
		display.insertBefore("if (java.awt.GraphicsEnvironment.isHeadless() && !ij.IJ.isResultsWindow()) return;");
		analyzer.toClass(loader, null);
		analyzer.detach();
	}
}
