package fijax.ij;

import ij.measure.ResultsTable;
import ij.plugin.filter.Analyzer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tables a headless macro shows ({@code Table.create}, {@code Table.update}, the "Summary" of
 * Analyze Particles, {@code rt.show(title)}), by title.
 *
 * <p>Without a display {@code ResultsTable.show(title)} returns at once and no window remembers the
 * table, so {@code Table.*} functions naming it fail ("table not found") and the last table made is
 * lost. {@link HeadlessFixes} makes {@code show} register the table here and the macro functions
 * look titles up here, so macros work as on the desktop and fijax can save every table.</p>
 */
public final class HeadlessTables {
	private static final Map<String, ResultsTable> tables = new LinkedHashMap<String, ResultsTable>();
	private static ResultsTable front;

	private HeadlessTables() {
	}

	/** Record that {@code rt} is shown as {@code title} (it becomes the front table). */
	public static synchronized void show(ResultsTable rt, String title) {
		if (title == null)
			title = "Results";
		if (title.equals("Results")) {
			// As ImageJ does: another table shown as "Results" becomes the system Results table.
			if (rt != Analyzer.getResultsTable())
				Analyzer.setResultsTable(rt);
			return;
		}
		ResultsTable old = tables.get(title);
		if (title.equals("Summary") && old != null && old != rt && sameColumns(old, rt)) {
			// Analyze Particles finds an open "Summary" window and adds its row there; headless it
			// cannot find one and makes a new table per image: append to the first instead.
			for (int r = 0; r < rt.size(); r++) {
				old.incrementCounter();
				for (String h : rt.getHeadings()) {
					if (h.equals("Label") || !rt.columnExists(h))
						continue;
					double v = rt.getValue(h, r);
					if (Double.isNaN(v))
						old.addValue(h, rt.getStringValue(h, r));
					else
						old.addValue(h, v);
				}
				if (rt.getLabel(r) != null)
					old.setLabel(rt.getLabel(r), old.size() - 1);
			}
			front = old;
			return;
		}
		tables.remove(title);
		tables.put(title, rt);
		front = rt;
	}

	private static boolean sameColumns(ResultsTable a, ResultsTable b) {
		return java.util.Arrays.equals(a.getHeadings(), b.getHeadings());
	}

	/** The table shown as {@code title}; with a null title the front table; null if none. */
	public static synchronized ResultsTable find(String title) {
		if (title == null)
			return front;
		return tables.get(title);
	}

	/** Forget {@code title} (a macro closed it). */
	public static synchronized void remove(String title) {
		ResultsTable rt = tables.remove(title);
		if (rt != null && rt == front)
			front = null;
	}

	/** Titles of the tables shown since the last {@link #reset}, in order. */
	public static synchronized String[] titles() {
		List<String> out = new ArrayList<String>(tables.keySet());
		return out.toArray(new String[0]);
	}

	/** Forget every table (before each macro). */
	public static synchronized void reset() {
		tables.clear();
		front = null;
	}
}
