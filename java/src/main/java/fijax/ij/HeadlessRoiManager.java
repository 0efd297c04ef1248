package fijax.ij;

import ij.gui.Roi;
import ij.io.RoiEncoder;
import ij.macro.Interpreter;
import ij.plugin.frame.RoiManager;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A ROI Manager without a window, for headless ImageJ.
 *
 * <p>{@code RoiManager} is an AWT {@code Frame}; even its hidden form ({@code new RoiManager(true)},
 * what batch-mode macros get from {@code Interpreter.getBatchModeRoiManager()}) runs the
 * {@code Frame} constructor, which throws {@code HeadlessException} without a display. A Java
 * constructor cannot skip its superclass constructor, so the instance is allocated without running
 * any constructor and then given the fields the hidden constructor would set (list model, ROI list,
 * defaults). {@link HeadlessFixes} makes ImageJ ask this class wherever it would construct one, and
 * makes {@code close()} of such an instance skip the window teardown. The ROI list, selection,
 * measure, multi-measure, save and the rest work on the list model, as with the hidden manager.</p>
 */
public final class HeadlessRoiManager {
	private static volatile RoiManager last;
	private static RoiManager shared;
	private static final Set<RoiManager> headless = java.util.Collections.synchronizedSet(new HashSet<RoiManager>());

	private HeadlessRoiManager() {
	}

	/** A new window-less ROI Manager (it also becomes {@link #last()}). */
	public static RoiManager create() {
		try {
			RoiManager rm = (RoiManager) allocate(RoiManager.class);
			Method init = RoiManager.class.getMethod("fijaxHeadlessInit");
			init.invoke(rm);
			headless.add(rm);
			last = rm;
			return rm;
		} catch (Exception e) {
			throw new IllegalStateException("cannot create a headless ROI Manager: " + e, e);
		}
	}

	/** The manager of the running macro, else one shared manager (scripts, the Java API). */
	public static synchronized RoiManager get() {
		RoiManager rm = Interpreter.getBatchModeRoiManager();
		if (rm != null)
			return rm;
		if (shared == null)
			shared = create();
		last = shared;
		return shared;
	}

	/** True for managers made here (their {@code close()} must not touch the window). */
	public static boolean isHeadless(RoiManager rm) {
		return headless.contains(rm);
	}

	/** The manager most recently created or handed out, or null. */
	public static RoiManager last() {
		return last;
	}

	/** Forget every manager (called before each macro so its ROIs start empty). */
	public static synchronized void reset() {
		if (shared != null)
			shared.reset();
		last = null;
		headless.clear();
		if (shared != null)
			headless.add(shared);
	}

	/** Number of ROIs in the last manager (0 when none was used). */
	public static int lastCount() {
		RoiManager rm = last;
		return rm == null ? 0 : rm.getCount();
	}

	/**
	 * The ROIs of the last manager as an ImageJ ROI set (the {@code .zip} of {@code .roi} files that
	 * {@code roiManager("save", path)} writes), or null when it holds none.
	 */
	public static byte[] lastZip() throws IOException {
		RoiManager rm = last;
		if (rm == null || rm.getCount() == 0)
			return null;
		Roi[] rois = rm.getRoisAsArray();
		String[] names = new String[rois.length];
		for (int i = 0; i < rois.length; i++)
			names[i] = rm.getName(i);
		return zip(rois, names);
	}

	/** ROIs as an ImageJ ROI set {@code .zip}; {@code names} may be null or hold nulls. */
	public static byte[] zip(Roi[] rois, String[] names) throws IOException {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		Set<String> used = new HashSet<String>();
		ZipOutputStream zos = new ZipOutputStream(bytes);
		try {
			DataOutputStream out = new DataOutputStream(zos);
			RoiEncoder encoder = new RoiEncoder(out);
			for (int i = 0; i < rois.length; i++) {
				String label = names != null && i < names.length ? names[i] : null;
				if (label == null || label.isEmpty())
					label = rois[i].getName() != null ? rois[i].getName() : String.format("%04d", i + 1);
				if (label.endsWith(".roi"))
					label = label.substring(0, label.length() - 4);
				String name = label + ".roi";
				int k = 2;
				while (!used.add(name))
					name = label + "-" + (k++) + ".roi";
				zos.putNextEntry(new ZipEntry(name));
				encoder.write(rois[i]);
				out.flush();
			}
			out.flush();
		} finally {
			zos.close();
		}
		return bytes.toByteArray();
	}

	/** An instance of {@code c} whose constructors did not run (fields zero/null). */
	public static Object allocate(Class<?> c) throws Exception {
		Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
		Field f = unsafeClass.getDeclaredField("theUnsafe");
		f.setAccessible(true);
		Object unsafe = f.get(null);
		return unsafeClass.getMethod("allocateInstance", Class.class).invoke(unsafe, c);
	}
}
