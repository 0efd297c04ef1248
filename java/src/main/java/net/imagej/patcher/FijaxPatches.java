package net.imagej.patcher;

import fijax.ij.HeadlessFixes;
import javassist.CtClass;

/**
 * Hands fijax's headless fixes to ij1-patcher, so they are applied to the same class definitions
 * ij1-patcher writes (a class can be defined once: {@code ij.macro.Interpreter} is patched by
 * both). Lives in ij1-patcher's package because its callback interface is package-private.
 */
public final class FijaxPatches implements LegacyInjector.Callback {

	/** Register the fixes with {@code injector}; call before {@code injectHooks}. */
	public static void register(LegacyInjector injector) {
		injector.after.add(new FijaxPatches());
	}

	@Override
	public void call(CodeHacker hacker) {
		try {
			HeadlessFixes.patchRoiManager(hacker.getClass("ij.plugin.frame.RoiManager"));
			HeadlessFixes.replaceNewRoiManager(hacker.getClass("ij.macro.Interpreter"));
			CtClass functions = hacker.getClass("ij.macro.Functions");
			HeadlessFixes.patchTables(hacker.getClass("ij.measure.ResultsTable"), functions);
			HeadlessFixes.patchDialogs(functions);
			HeadlessFixes.patchOpener(hacker.getClass("ij.io.Opener"));
		} catch (Exception e) {
			throw new IllegalStateException("fijax headless patches failed: " + e, e);
		}
	}
}
