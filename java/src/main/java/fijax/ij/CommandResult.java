package fijax.ij;

import ij.ImagePlus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a FiJAX command hands back to ImageJ: new images, Results rows and a return string. */
public class CommandResult {
	/** Images to show, in order, by title. */
	public final Map<String, ImagePlus> images = new LinkedHashMap<String, ImagePlus>();
	/** Rows for the Results table; values are Numbers or Strings. */
	public final List<Map<String, Object>> rows = new ArrayList<Map<String, Object>>();
	/** Optional text, e.g. for logging. */
	public String message;

	public void addImage(String title, ImagePlus imp) {
		images.put(title, imp);
	}

	public void addRow(Map<String, Object> row) {
		rows.add(row);
	}
}
