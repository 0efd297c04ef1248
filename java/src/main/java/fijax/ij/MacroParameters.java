package fijax.ij;

import java.io.File;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SciJava script parameters ({@code #@}) in ImageJ macros, as Fiji's Script Editor writes them:
 *
 * <pre>
 * #@ File (label = "Input directory", style = "directory") input
 * #@ String (label = "File suffix", value = ".tif") suffix
 * #@ Integer (min = 1, max = 10, value = 2) radius
 * #@ String (choices = {"Otsu", "Huang"}, style = "listBox") method
 * #@output Double area
 * </pre>
 *
 * ImageJ 1.x alone stops at such a line ("Statement cannot begin with '#'"). {@link #prepare}
 * replaces each input line by an assignment of its value on the same line (so error line numbers stay
 * those of the file) and each output line by a comment; {@link MacroRunner} reads the outputs back
 * from the macro's variables after the run. Values come as text (command line, HTTP, Java); a
 * missing value falls back to {@code value=}, a boolean to false, a choice to its first item, an
 * optional ({@code required=false}) one to "" or 0; otherwise the macro does not start and the
 * error names the parameter.
 */
public final class MacroParameters {

	/** One {@code #@} line. */
	public static final class Param {
		public String direction = "input";
		public String type;
		public String name;
		public final Map<String, String> attrs = new LinkedHashMap<String, String>();
		public List<String> choices;
		public int line;

		public String simpleType() {
			String t = type.substring(type.lastIndexOf('.') + 1);
			return t;
		}

		public boolean isOutput() {
			return direction.equals("output") || direction.equals("both");
		}

		public boolean isInput() {
			return !direction.equals("output");
		}
	}

	/** A macro with its parameter lines rewritten. */
	public static final class Prepared {
		public String code;
		public final List<Param> params = new ArrayList<Param>();

		public List<Param> outputs() {
			List<Param> out = new ArrayList<Param>();
			for (Param p : params)
				if (p.isOutput())
					out.add(p);
			return out;
		}
	}

	private static final List<String> INTS = Arrays.asList("int", "integer", "long", "short", "byte", "biginteger");
	private static final List<String> FLOATS = Arrays.asList("float", "double", "number", "bigdecimal");
	private static final List<String> TEXTS = Arrays.asList("string", "file", "char", "character", "colorrgb");
	private static final List<String> IMAGES = Arrays.asList("imageplus", "dataset", "imgplus", "imagedisplay");

	private MacroParameters() {
	}

	/** Whether {@code code} has any {@code #@} line. */
	public static boolean hasParameters(String code) {
		for (String line : code.split("\n", -1))
			if (line.trim().startsWith("#@"))
				return true;
		return false;
	}

	/** Parse every {@code #@} line of {@code code}. */
	public static List<Param> parse(String code) {
		List<Param> out = new ArrayList<Param>();
		String[] lines = code.split("\n", -1);
		for (int i = 0; i < lines.length; i++) {
			String line = lines[i].trim();
			if (line.startsWith("#@"))
				out.add(parseLine(line, i + 1));
		}
		return out;
	}

	/**
	 * Rewrite {@code code}: input parameter lines become assignments of {@code values} (text),
	 * output lines comments.
	 *
	 * @throws IllegalArgumentException naming the parameter: missing or invalid value, unknown
	 *         name in {@code values}, unsupported type
	 */
	public static Prepared prepare(String code, Map<String, ?> values) {
		Prepared out = new Prepared();
		Map<String, ?> given = values == null ? new LinkedHashMap<String, Object>() : values;
		String[] lines = code.split("\n", -1);
		for (int i = 0; i < lines.length; i++) {
			String line = lines[i];
			if (!line.trim().startsWith("#@"))
				continue;
			Param p = parseLine(line.trim(), i + 1);
			out.params.add(p);
			String assignment = p.isInput() ? assignment(p, given.containsKey(p.name) ? given.get(p.name) : null,
					given.containsKey(p.name)) : null;
			lines[i] = assignment == null ? "// " + line.trim() : assignment + " // " + line.trim();
		}
		for (String key : given.keySet()) {
			boolean known = false;
			for (Param p : out.params)
				known |= p.name.equals(key) && p.isInput();
			if (!known) {
				List<String> names = new ArrayList<String>();
				for (Param p : out.params)
					if (p.isInput() && !isService(p))
						names.add(p.name);
				throw new IllegalArgumentException("the macro has no parameter '" + key + "' ("
						+ (names.isEmpty() ? "it declares no #@ input parameters"
								: "its #@ parameters: " + join(names)) + ")");
			}
		}
		StringBuilder sb = new StringBuilder();
		for (int i = 0; i < lines.length; i++) {
			if (i > 0)
				sb.append('\n');
			sb.append(lines[i]);
		}
		out.code = sb.toString();
		return out;
	}

	private static boolean isService(Param p) {
		String t = p.simpleType();
		return t.endsWith("Service") || t.equals("Context") || t.equals("ImageJ") || t.equals("Logger");
	}

	private static String assignment(Param p, Object value, boolean given) {
		String t = p.simpleType().toLowerCase(Locale.ROOT);
		if (isService(p))
			return null; // SciJava services mean nothing to the macro language
		if (t.endsWith("[]"))
			throw new IllegalArgumentException("macro parameter '" + p.name + "' (line " + p.line + "): type "
					+ p.type + " is not supported headless (String, File, int/Integer, float/Double, boolean, "
					+ "choices, ImagePlus)");
		String text = value == null ? null : String.valueOf(value);
		if (text == null) {
			text = p.attrs.get("value");
			if (text == null && p.choices != null && !p.choices.isEmpty())
				text = p.choices.get(0);
			if (text == null && (t.equals("boolean")))
				text = "false";
			boolean message = "message".equalsIgnoreCase(p.attrs.get("visibility"));
			if (text == null && (message || "false".equalsIgnoreCase(p.attrs.get("required"))))
				text = INTS.contains(t) || FLOATS.contains(t) ? "0" : "";
			if (text == null && IMAGES.contains(t))
				text = "";
			if (text == null)
				throw new IllegalArgumentException("macro parameter '" + p.name + "' (" + p.type + ", line " + p.line
						+ ") has no value and no default: give it as " + p.name + "=VALUE");
		}
		String literal;
		if (INTS.contains(t)) {
			long v;
			try {
				v = new BigDecimal(text.trim()).longValueExact();
			} catch (RuntimeException e) {
				throw invalid(p, text, "an integer");
			}
			checkRange(p, v);
			literal = Long.toString(v);
		} else if (FLOATS.contains(t)) {
			double v;
			try {
				v = Double.parseDouble(text.trim());
			} catch (NumberFormatException e) {
				throw invalid(p, text, "a number");
			}
			if (Double.isNaN(v) || Double.isInfinite(v))
				literal = Double.isNaN(v) ? "NaN" : v > 0 ? "1/0" : "-1/0";
			else {
				checkRange(p, v);
				literal = BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
			}
		} else if (t.equals("boolean")) {
			String b = text.trim().toLowerCase(Locale.ROOT);
			if (b.equals("true") || b.equals("1") || b.equals("yes") || b.equals("on"))
				literal = "true";
			else if (b.equals("false") || b.equals("0") || b.equals("no") || b.equals("off") || b.isEmpty())
				literal = "false";
			else
				throw invalid(p, text, "true or false");
		} else if (TEXTS.contains(t)) {
			if (p.choices != null && !p.choices.isEmpty() && !p.choices.contains(text))
				throw new IllegalArgumentException("macro parameter '" + p.name + "' (line " + p.line + "): " + quote(text)
						+ " is not one of its choices: " + join(p.choices));
			if (t.equals("file") && !text.isEmpty())
				text = new File(text).getAbsolutePath();
			literal = quote(text);
		} else if (IMAGES.contains(t)) {
			// The image of that title (else the active one) is selected; the variable holds its ID.
			return (text.isEmpty() ? "" : "selectImage(" + quote(text) + "); ") + p.name + " = getImageID();";
		} else {
			throw new IllegalArgumentException("macro parameter '" + p.name + "' (line " + p.line + "): type " + p.type
					+ " is not supported headless (String, File, int/Integer, float/Double, boolean, choices, "
					+ "ImagePlus)");
		}
		return p.name + " = " + literal + ";";
	}

	private static void checkRange(Param p, double v) {
		String min = p.attrs.get("min"), max = p.attrs.get("max");
		try {
			if (min != null && v < Double.parseDouble(min.trim()))
				throw new IllegalArgumentException("macro parameter '" + p.name + "' (line " + p.line + "): " + fmt(v)
						+ " is below its minimum " + min.trim());
			if (max != null && v > Double.parseDouble(max.trim()))
				throw new IllegalArgumentException("macro parameter '" + p.name + "' (line " + p.line + "): " + fmt(v)
						+ " is above its maximum " + max.trim());
		} catch (NumberFormatException e) {
			// a non-numeric bound is SciJava's business, not ours
		}
	}

	private static String fmt(double v) {
		return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
	}

	private static IllegalArgumentException invalid(Param p, String text, String what) {
		return new IllegalArgumentException("macro parameter '" + p.name + "' (" + p.type + ", line " + p.line + "): "
				+ quote(text) + " is not " + what);
	}

	/** A macro-language string literal. */
	public static String quote(String s) {
		StringBuilder sb = new StringBuilder("\"");
		for (char c : s.toCharArray()) {
			switch (c) {
			case '\\': sb.append("\\\\"); break;
			case '"': sb.append("\\\""); break;
			case '\n': sb.append("\\n"); break;
			case '\r': sb.append("\\r"); break;
			case '\t': sb.append("\\t"); break;
			default: sb.append(c);
			}
		}
		return sb.append('"').toString();
	}

	private static String join(List<String> items) {
		StringBuilder sb = new StringBuilder();
		for (String s : items) {
			if (sb.length() > 0)
				sb.append(", ");
			sb.append(s);
		}
		return sb.toString();
	}

	// -- parsing ----------------------------------------------------------------------------------

	static Param parseLine(String line, int lineNo) {
		Param p = new Param();
		p.line = lineNo;
		int[] pos = {2};
		String first = word(line, pos);
		String lower = first.toLowerCase(Locale.ROOT);
		if (lower.equals("output") || lower.equals("input") || lower.equals("both")) {
			p.direction = lower;
			skip(line, pos);
			p.type = typeWord(line, pos);
		} else if (first.isEmpty()) {
			skip(line, pos);
			p.type = typeWord(line, pos);
		} else {
			p.type = first + typeSuffix(line, pos);
		}
		if (p.type.isEmpty())
			throw bad(line, lineNo);
		skip(line, pos);
		if (pos[0] < line.length() && line.charAt(pos[0]) == '(')
			attrs(line, pos, p, lineNo);
		skip(line, pos);
		p.name = word(line, pos);
		if (p.name.isEmpty())
			throw bad(line, lineNo);
		skip(line, pos);
		if (pos[0] < line.length() && line.charAt(pos[0]) == '(') {
			attrs(line, pos, p, lineNo);
			skip(line, pos);
		}
		if (pos[0] < line.length() && !line.startsWith("//", pos[0]))
			throw bad(line, lineNo);
		return p;
	}

	private static IllegalArgumentException bad(String line, int lineNo) {
		return new IllegalArgumentException("macro line " + lineNo + ": cannot read the script parameter " + quote(line)
				+ " (expected '#@ Type (attributes) name', e.g. '#@ File (style=\"directory\") input')");
	}

	private static void skip(String s, int[] pos) {
		while (pos[0] < s.length() && Character.isWhitespace(s.charAt(pos[0])))
			pos[0]++;
	}

	private static String word(String s, int[] pos) {
		int start = pos[0];
		while (pos[0] < s.length() && (Character.isLetterOrDigit(s.charAt(pos[0])) || s.charAt(pos[0]) == '_'))
			pos[0]++;
		return s.substring(start, pos[0]);
	}

	private static String typeWord(String s, int[] pos) {
		return word(s, pos) + typeSuffix(s, pos);
	}

	private static String typeSuffix(String s, int[] pos) {
		StringBuilder sb = new StringBuilder();
		while (pos[0] < s.length() && s.charAt(pos[0]) == '.') {
			pos[0]++;
			sb.append('.').append(word(s, pos));
		}
		if (s.startsWith("[]", pos[0])) {
			pos[0] += 2;
			sb.append("[]");
		}
		return sb.toString();
	}

	private static void attrs(String s, int[] pos, Param p, int lineNo) {
		int depth = 0;
		char quote = 0;
		int start = pos[0] + 1;
		int i = pos[0];
		for (; i < s.length(); i++) {
			char c = s.charAt(i);
			if (quote != 0) {
				if (c == '\\')
					i++;
				else if (c == quote)
					quote = 0;
			} else if (c == '"' || c == '\'')
				quote = c;
			else if (c == '(' || c == '{')
				depth++;
			else if (c == ')' || c == '}') {
				depth--;
				if (depth == 0 && c == ')')
					break;
			}
		}
		if (i >= s.length())
			throw bad(s, lineNo);
		for (String item : split(s.substring(start, i), ',')) {
			int eq = item.indexOf('=');
			if (eq < 0)
				continue;
			String key = item.substring(0, eq).trim().toLowerCase(Locale.ROOT);
			String value = item.substring(eq + 1).trim();
			if (value.startsWith("{") && value.endsWith("}")) {
				List<String> choices = new ArrayList<String>();
				for (String c : split(value.substring(1, value.length() - 1), ','))
					if (!c.trim().isEmpty())
						choices.add(unquote(c.trim()));
				if (key.equals("choices"))
					p.choices = choices;
				p.attrs.put(key, join(choices));
			} else {
				p.attrs.put(key, unquote(value));
			}
		}
		pos[0] = i + 1;
	}

	private static List<String> split(String s, char sep) {
		List<String> out = new ArrayList<String>();
		int depth = 0;
		char quote = 0;
		int start = 0;
		for (int i = 0; i < s.length(); i++) {
			char c = s.charAt(i);
			if (quote != 0) {
				if (c == '\\')
					i++;
				else if (c == quote)
					quote = 0;
			} else if (c == '"' || c == '\'')
				quote = c;
			else if (c == '{' || c == '(')
				depth++;
			else if (c == '}' || c == ')')
				depth--;
			else if (c == sep && depth == 0) {
				out.add(s.substring(start, i));
				start = i + 1;
			}
		}
		out.add(s.substring(start));
		return out;
	}

	private static String unquote(String v) {
		if (v.length() >= 2 && (v.charAt(0) == '"' || v.charAt(0) == '\'') && v.charAt(v.length() - 1) == v.charAt(0)) {
			StringBuilder sb = new StringBuilder();
			for (int i = 1; i < v.length() - 1; i++) {
				char c = v.charAt(i);
				if (c == '\\' && i + 1 < v.length() - 1) {
					char n = v.charAt(++i);
					sb.append(n == 'n' ? '\n' : n == 't' ? '\t' : n);
				} else
					sb.append(c);
			}
			return sb.toString();
		}
		return v;
	}
}
