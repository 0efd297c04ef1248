package fijax.ij;

import javassist.CannotCompileException;
import javassist.ClassPool;
import javassist.CtClass;
import javassist.CtMethod;
import javassist.CtNewMethod;
import javassist.LoaderClassPath;
import javassist.expr.ExprEditor;
import javassist.expr.NewExpr;

/**
 * Fixes for ImageJ 1.x behaviour that is only wrong without a display, applied with Javassist
 * (as ij1-patcher does) before the classes are loaded.
 *
 * <ul>
 * <li>{@code Analyzer.displayResults()} deletes every Results row that the (absent) Results window
 * does not show, so headless each {@code run("Measure")} left only its own row. Headless, the
 * patched method returns at once: rows stay in the table (which is what a macro reads).</li>
 * <li>The ROI Manager is an AWT {@code Frame}: building one (even the hidden batch-mode one) throws
 * {@code HeadlessException}. Every {@code new RoiManager(...)} in {@code Interpreter} and
 * {@code RoiManager.getRoiManager()} is replaced by {@link HeadlessRoiManager#create()}, which
 * allocates one without its window; its {@code close()} skips the window teardown. These two
 * classes are also patched by ij1-patcher, so these changes go through its injector
 * ({@code net.imagej.patcher.FijaxPatches}).</li>
 * </ul>
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

	/** Give {@code rm} (ij.plugin.frame.RoiManager) its window-less initialiser and close. */
	public static void patchRoiManager(CtClass rm) throws Exception {
		// What RoiManager(boolean hideWindow) sets, minus the Frame and the AWT check boxes (unused
		// without a window; allocated unconstructed so reading their state gives false).
		rm.addMethod(CtNewMethod.make("public void fijaxHeadlessInit() {"
				+ " rois = new java.util.ArrayList();"
				+ " showAllCheckbox = (java.awt.Checkbox) fijax.ij.HeadlessRoiManager.allocate(java.awt.Checkbox.class);"
				+ " labelsCheckbox = (java.awt.Checkbox) fijax.ij.HeadlessRoiManager.allocate(java.awt.Checkbox.class);"
				+ " defaultLineWidth = 1; firstTime = true; recordShowAll = true;"
				+ " translateX = 10.0; translateY = 10.0; multiCropShow = true;"
				+ " list = new javax.swing.JList(); listModel = new javax.swing.DefaultListModel();"
				+ " list.setModel(listModel); }", rm));
		rm.getDeclaredMethod("close").insertBefore(
				"if (fijax.ij.HeadlessRoiManager.isHeadless(this)) { resetMultiMeasureResults(); return; }");
		rm.getDeclaredMethod("getRoiManager").insertBefore(
				"if (java.awt.GraphicsEnvironment.isHeadless()) return fijax.ij.HeadlessRoiManager.get();");
		replaceNewRoiManager(rm);
	}

	/**
	 * Headless tables: {@code ResultsTable.show(title)} registers the table in {@link HeadlessTables}
	 * and the macro functions ({@code Table.*}, {@code getResult(..., title)}) and
	 * {@code ResultsTable.getResultsTable(title)} find tables there.
	 */
	public static void patchTables(CtClass resultsTable, CtClass functions) throws Exception {
		resultsTable.getDeclaredMethod("show", new CtClass[] {resultsTable.getClassPool().get("java.lang.String")})
				.insertBefore("if (java.awt.GraphicsEnvironment.isHeadless()) { title = $1 == null ? \"Results\" : $1;"
						+ " fijax.ij.HeadlessTables.show(this, $1); }");
		resultsTable.getDeclaredMethod("getResultsTable", new CtClass[] {resultsTable.getClassPool().get("java.lang.String")})
				.insertBefore("if (java.awt.GraphicsEnvironment.isHeadless()) { ij.measure.ResultsTable t = "
						+ "fijax.ij.HeadlessTables.find($1); if (t != null) return t; }");
		functions.getDeclaredMethod("getRT").insertBefore(
				"if (java.awt.GraphicsEnvironment.isHeadless() && !($1 == null && interp.applyMacroTable != null)) {"
				+ " ij.measure.ResultsTable t = fijax.ij.HeadlessTables.find($1); if (t != null) return t; }");
	}

	/**
	 * Macro functions that only open a dialog ({@code getDirectory("Choose...")}, {@code waitForUser},
	 * {@code Dialog.*}, {@code File.openDialog}, {@code getString/getNumber/getBoolean(prompt, ...)})
	 * stop the macro headless with an error at their line that points to {@code #@} script
	 * parameters, instead of failing with {@code HeadlessException} or returning "".
	 */
	public static void patchDialogs(CtClass functions) throws Exception {
		String[][] calls = {
			{"waitForUser", "waitForUser()"},
			{"doDialog", "Dialog.*"},
			{"openDialog", "File.openDialog()"},
			{"getStringDialog", "getString(prompt, default)"},
			{"getNumber", "getNumber(prompt, default)"},
			{"getBoolean", "getBoolean(prompt)"},
		};
		for (String[] c : calls)
			functions.getDeclaredMethod(c[0]).insertBefore("if (java.awt.GraphicsEnvironment.isHeadless()) {"
					+ " interp.error(fijax.ij.HeadlessFixes.dialogMessage(\"" + c[1] + "\"));"
					+ " throw new RuntimeException(ij.Macro.MACRO_CANCELED); }");
		functions.getDeclaredMethod("getDirectory").instrument(new ExprEditor() {
			@Override
			public void edit(javassist.expr.MethodCall m) throws CannotCompileException {
				if (m.getClassName().equals("ij.IJ") && m.getMethodName().equals("getDirectory"))
					m.replace("if (java.awt.GraphicsEnvironment.isHeadless() && !fijax.ij.HeadlessFixes.isDirectoryKeyword($1)) {"
							+ " interp.error(fijax.ij.HeadlessFixes.dialogMessage(\"getDirectory(\\\"\" + $1 + \"\\\")\"));"
							+ " throw new RuntimeException(ij.Macro.MACRO_CANCELED); }"
							+ " $_ = $proceed($$);");
			}
		});
	}

	private static final java.util.Set<String> DIRECTORY_KEYWORDS = new java.util.HashSet<String>(java.util.Arrays.asList(
			"arg", "home", "startup", "imagej", "plugins", "macros", "luts", "image", "file", "temp", "current",
			"default", "downloads", "preferences", "cwd", "sessions"));

	/** True when {@code getDirectory(title)} names a folder (no dialog). */
	public static boolean isDirectoryKeyword(String title) {
		return title != null && DIRECTORY_KEYWORDS.contains(title.toLowerCase(java.util.Locale.ROOT));
	}

	/** The error a dialog-only macro call gets headless. */
	public static String dialogMessage(String call) {
		return call + " opens a dialog, which headless ImageJ cannot show; declare a script parameter instead "
				+ "(e.g. '#@ File (style=\"directory\") input' or '#@ String name') and pass its value "
				+ "(fijax macro FILE --param input=PATH)";
	}

	/**
	 * {@code Opener.open(path)} and {@code Opener.openImage(path)} open OME-TIFF, OME-Zarr, CZI, ND2
	 * and LIF files through fijax ({@link ExtraFiles}) when fijax serves this JVM.
	 */
	public static void patchOpener(CtClass opener) throws Exception {
		CtClass string = opener.getClassPool().get("java.lang.String");
		opener.getDeclaredMethod("open", new CtClass[] {string}).insertBefore(
				"if (fijax.ij.ExtraFiles.handles($1)) { ij.ImagePlus fijaxImp = fijax.ij.ExtraFiles.open($1);"
				+ " fijaxImp.show(); return; }");
		opener.getDeclaredMethod("openImage", new CtClass[] {string}).insertBefore(
				"if (fijax.ij.ExtraFiles.handles($1)) return fijax.ij.ExtraFiles.open($1);");
	}

	/** Replace each {@code new RoiManager(...)} in {@code cls} by a window-less one when headless. */
	public static void replaceNewRoiManager(CtClass cls) throws CannotCompileException {
		cls.instrument(new ExprEditor() {
			@Override
			public void edit(NewExpr e) throws CannotCompileException {
				if (e.getClassName().equals("ij.plugin.frame.RoiManager"))
					e.replace("if (java.awt.GraphicsEnvironment.isHeadless()) $_ = fijax.ij.HeadlessRoiManager.create();"
							+ " else $_ = $proceed($$);");
			}
		});
	}
}
