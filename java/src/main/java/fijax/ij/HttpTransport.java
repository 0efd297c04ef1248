package fijax.ij;

import ij.ImagePlus;
import ij.Macro;
import ij.Prefs;
import ij.WindowManager;
import ij.io.FileSaver;
import ij.io.Opener;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The FiJAX transport of a desktop Fiji: every FiJAX command and macro {@code call()} is sent to a
 * running fijax server ({@code fijax serve}) over HTTP, so one macro works unchanged in the server's
 * embedded ImageJ and in a user's Fiji.
 *
 * <p>Protocol (docs/server.md): {@code GET /commands} lists commands with their image option keys;
 * {@code POST /commands/run} takes multipart fields {@code command}, {@code options} and one TIFF part
 * per image option key; {@code POST /commands/call} takes {@code function}, repeated {@code args} and
 * TIFF parts named by the operation's inputs. Every request carries {@code Authorization: token T}.
 * Images travel as ImageJ TIFFs ({@link FileSaver#serialize()} / {@link Opener#deserialize(byte[])}),
 * so calibration is kept; output images are then fetched from the URLs in the JSON answer.</p>
 *
 * <p>Server address and token, first found wins: system properties {@code fijax.url} /
 * {@code fijax.token}; environment {@code FIJAX_URL} / {@code FIJAX_TOKEN}; ImageJ preferences
 * {@code fijax.url} / {@code fijax.token} (set with {@link #setServer}); the token file written by
 * {@code fijax serve} ({@code FIJAX_TOKEN_FILE}, else {@code $FIJAX_HOME/server.token}, else
 * {@code ~/.fijax/server.token}: the token on line 1, {"url": ...} on line 2).</p>
 */
public class HttpTransport implements Transport {
	private static final Charset UTF8 = Charset.forName("UTF-8");
	private final String url;
	private final String token;
	private int readTimeoutMs = 3600 * 1000;
	private Map<String, String[]> commandInputs;
	private Map<String, String[]> operationInputs;

	public HttpTransport(String url, String token) {
		if (url == null || url.trim().isEmpty())
			throw new IllegalArgumentException("fijax server URL is empty");
		if (token == null || token.trim().isEmpty())
			throw new IllegalArgumentException("fijax server token is empty");
		String u = url.trim();
		while (u.endsWith("/"))
			u = u.substring(0, u.length() - 1);
		this.url = u;
		this.token = token.trim();
	}

	public String getUrl() {
		return url;
	}

	// -- installation (static; callable from macros with call("fijax.ij.HttpTransport.<name>", ...)) --

	/**
	 * Install an HTTP transport configured from properties, environment, preferences or the token
	 * file, unless an in-process transport is installed already.
	 *
	 * @return "in-process" (embedded ImageJ: nothing to do), or "connected to URL"
	 */
	public static String connect() {
		Transport current = Bridge.getTransport();
		if (current != null && !(current instanceof HttpTransport))
			return "in-process";
		HttpTransport t = fromConfig();
		if (t == null)
			throw new IllegalStateException("no fijax server configured: start 'fijax serve' (it writes "
					+ "~/.fijax/server.token) or set fijax.url and fijax.token");
		return install(t);
	}

	/** Install an HTTP transport to {@code url} with {@code token} (unless one runs in-process). */
	public static String connect(String url, String token) {
		Transport current = Bridge.getTransport();
		if (current != null && !(current instanceof HttpTransport))
			return "in-process";
		return install(new HttpTransport(url, token));
	}

	/** Remember the server in ImageJ's preferences (used by {@link #connect()} in later sessions). */
	public static String setServer(String url, String token) {
		Prefs.set("fijax.url", url);
		Prefs.set("fijax.token", token);
		Prefs.savePreferences();
		return "saved";
	}

	private static String install(HttpTransport t) {
		Map<String, String[]> commands = t.commands();
		Bridge.setTransport(t);
		for (String label : commands.keySet())
			Bridge.registerCommand(label);
		return "connected to " + t.url;
	}

	/**
	 * An HTTP transport from the configuration sources, or null when none names a server; for
	 * {@link Bridge} to fall back on when no in-process transport is installed.
	 */
	public static HttpTransport fromConfig() {
		String url = first(System.getProperty("fijax.url"), System.getenv("FIJAX_URL"), prefs("fijax.url"));
		String token = first(System.getProperty("fijax.token"), System.getenv("FIJAX_TOKEN"), prefs("fijax.token"));
		if (url == null || token == null) {
			String[] fromFile = readTokenFile();
			if (fromFile != null) {
				if (token == null)
					token = fromFile[0];
				if (url == null)
					url = fromFile[1];
			}
		}
		if (url == null || token == null)
			return null;
		return new HttpTransport(url, token);
	}

	private static String prefs(String key) {
		try {
			String v = Prefs.get(key, "");
			return v.isEmpty() ? null : v;
		} catch (Throwable t) {
			return null;
		}
	}

	private static String first(String... values) {
		for (String v : values)
			if (v != null && !v.trim().isEmpty())
				return v.trim();
		return null;
	}

	private static String[] readTokenFile() {
		String path = System.getenv("FIJAX_TOKEN_FILE");
		if (path == null) {
			String home = System.getenv("FIJAX_HOME");
			if (home == null)
				home = System.getProperty("user.home") + File.separator + ".fijax";
			path = home + File.separator + "server.token";
		}
		File f = new File(path);
		if (!f.isFile())
			return null;
		try {
			List<String> lines = Files.readAllLines(f.toPath(), UTF8);
			if (lines.isEmpty())
				return null;
			String url = null;
			if (lines.size() > 1) {
				Object info = Json.parse(lines.get(1));
				if (info instanceof Map)
					url = (String) ((Map<?, ?>) info).get("url");
			}
			return new String[] {lines.get(0).trim(), url};
		} catch (Exception e) {
			return null;
		}
	}

	// -- Transport ----------------------------------------------------------------------------------

	@Override
	public String[] imageInputs(String command) {
		String[] keys = commands().get(command);
		if (keys == null) {
			commandInputs = null; // the server may have gained commands since
			keys = commands().get(command);
		}
		if (keys == null)
			throw new IllegalArgumentException("unknown FiJAX command '" + command + "' on " + url);
		return keys;
	}

	@Override
	public CommandResult run(String command, String options, Map<String, ImagePlus> inputs) throws Exception {
		Multipart body = new Multipart();
		body.field("command", command);
		body.field("options", options == null ? "" : options);
		for (Map.Entry<String, ImagePlus> e : inputs.entrySet())
			body.file(e.getKey(), e.getKey() + ".tif", tiff(e.getValue()));
		Map<?, ?> job = (Map<?, ?>) request("POST", "/commands/run", body);
		Map<?, ?> result = (Map<?, ?>) job.get("result");
		CommandResult out = new CommandResult();
		Map<?, ?> images = (Map<?, ?>) result.get("images");
		for (Object info : images.values()) {
			Map<?, ?> im = (Map<?, ?>) info;
			String title = (String) im.get("title");
			ImagePlus imp = new Opener().deserialize(download((String) im.get("url")));
			if (imp == null)
				throw new IOException("could not decode output image '" + title + "'");
			imp.setTitle(title);
			out.addImage(title, imp);
		}
		for (Object row : (List<?>) result.get("table")) {
			Map<String, Object> r = new LinkedHashMap<String, Object>();
			for (Map.Entry<?, ?> cell : ((Map<?, ?>) row).entrySet())
				r.put(String.valueOf(cell.getKey()), cell.getValue() instanceof Number ? cell.getValue()
						: String.valueOf(cell.getValue()));
			out.addRow(r);
		}
		Object message = ((Map<?, ?>) result.get("values")).get("message");
		if (message instanceof String)
			out.message = (String) message;
		return out;
	}

	@Override
	public String call(String function, String[] args) throws Exception {
		Multipart body = new Multipart();
		body.field("function", function);
		for (String a : args)
			body.field("args", a);
		String[] names = operations().get(function);
		if (names != null && names.length > 0) {
			String options = args.length > 0 ? args[0] : "";
			int found = 0;
			for (String name : names) {
				String title = Macro.getValue(options, name, null);
				if (title == null)
					continue;
				ImagePlus imp = WindowManager.getImage(title);
				if (imp == null)
					throw new IllegalArgumentException("no open image titled '" + title + "' (option " + name + "=)");
				body.file(name, name + ".tif", tiff(imp));
				found++;
			}
			if (found == 0) {
				ImagePlus imp = WindowManager.getCurrentImage();
				if (imp == null)
					throw new IllegalArgumentException("there are no images open (" + function + " needs an image)");
				body.file(names[0], names[0] + ".tif", tiff(imp));
			}
		}
		Map<?, ?> job = (Map<?, ?>) request("POST", "/commands/call", body);
		Object text = ((Map<?, ?>) ((Map<?, ?>) job.get("result")).get("values")).get("text");
		return text == null ? "" : String.valueOf(text);
	}

	// -- HTTP ---------------------------------------------------------------------------------------

	private synchronized Map<String, String[]> commands() {
		if (commandInputs == null) {
			Map<?, ?> listing;
			try {
				listing = (Map<?, ?>) request("GET", "/commands", null);
			} catch (IOException e) {
				throw new IllegalStateException("fijax server " + url + " not reachable: " + e.getMessage(), e);
			}
			Map<String, String[]> cmds = new LinkedHashMap<String, String[]>();
			for (Object c : (List<?>) listing.get("commands")) {
				Map<?, ?> m = (Map<?, ?>) c;
				cmds.put((String) m.get("label"), strings((List<?>) m.get("inputs")));
			}
			Map<String, String[]> ops = new HashMap<String, String[]>();
			for (Map.Entry<?, ?> e : ((Map<?, ?>) listing.get("operations")).entrySet())
				ops.put((String) e.getKey(), strings((List<?>) e.getValue()));
			for (Object f : (List<?>) listing.get("functions"))
				ops.put((String) f, new String[0]);
			commandInputs = cmds;
			operationInputs = ops;
		}
		return commandInputs;
	}

	private synchronized Map<String, String[]> operations() {
		commands();
		return operationInputs;
	}

	private static String[] strings(List<?> list) {
		String[] out = new String[list.size()];
		for (int i = 0; i < out.length; i++)
			out[i] = String.valueOf(list.get(i));
		return out;
	}

	private static byte[] tiff(ImagePlus imp) throws IOException {
		byte[] bytes = new FileSaver(imp).serialize();
		if (bytes == null)
			throw new IOException("could not encode image '" + imp.getTitle() + "' as TIFF");
		return bytes;
	}

	private HttpURLConnection open(String method, String path) throws IOException {
		HttpURLConnection con = (HttpURLConnection) new URL(url + path).openConnection();
		con.setRequestMethod(method);
		con.setConnectTimeout(10000);
		con.setReadTimeout(readTimeoutMs);
		con.setRequestProperty("Authorization", "token " + token);
		con.setRequestProperty("Accept", "application/json");
		return con;
	}

	/** Send a request and parse the JSON answer; a 4xx becomes IllegalArgumentException with the server's message. */
	private Object request(String method, String path, Multipart body) throws IOException {
		HttpURLConnection con = open(method, path);
		try {
			if (body != null) {
				byte[] bytes = body.finish();
				con.setDoOutput(true);
				con.setFixedLengthStreamingMode(bytes.length);
				con.setRequestProperty("Content-Type", "multipart/form-data; boundary=" + body.boundary);
				OutputStream os = con.getOutputStream();
				try {
					os.write(bytes);
				} finally {
					os.close();
				}
			}
			int status = con.getResponseCode();
			InputStream in = status >= 400 ? con.getErrorStream() : con.getInputStream();
			String text = in == null ? "" : new String(readAll(in), UTF8);
			if (status >= 400) {
				String detail = text;
				try {
					Object err = Json.parse(text);
					if (err instanceof Map && ((Map<?, ?>) err).get("detail") != null)
						detail = String.valueOf(((Map<?, ?>) err).get("detail"));
				} catch (RuntimeException e) {
					// not JSON: keep the raw text
				}
				if (status < 500)
					throw new IllegalArgumentException(detail);
				throw new IOException("fijax server error " + status + ": " + detail);
			}
			return Json.parse(text);
		} finally {
			con.disconnect();
		}
	}

	private byte[] download(String path) throws IOException {
		HttpURLConnection con = open("GET", path);
		try {
			int status = con.getResponseCode();
			if (status >= 400)
				throw new IOException("download of " + path + " failed with HTTP " + status);
			return readAll(con.getInputStream());
		} finally {
			con.disconnect();
		}
	}

	private static byte[] readAll(InputStream in) throws IOException {
		try {
			ByteArrayOutputStream out = new ByteArrayOutputStream();
			byte[] buf = new byte[1 << 16];
			int n;
			while ((n = in.read(buf)) > 0)
				out.write(buf, 0, n);
			return out.toByteArray();
		} finally {
			in.close();
		}
	}

	/** A multipart/form-data body built in memory. */
	static final class Multipart {
		final String boundary;
		private final ByteArrayOutputStream out = new ByteArrayOutputStream();

		Multipart() {
			byte[] r = new byte[12];
			new SecureRandom().nextBytes(r);
			StringBuilder sb = new StringBuilder("fijax");
			for (byte b : r)
				sb.append(String.format("%02x", b & 0xff));
			boundary = sb.toString();
		}

		void field(String name, String value) throws IOException {
			write("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quote(name) + "\"\r\n"
					+ "Content-Type: text/plain; charset=utf-8\r\n\r\n");
			out.write(value.getBytes(UTF8));
			write("\r\n");
		}

		void file(String name, String filename, byte[] data) throws IOException {
			write("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quote(name) + "\"; filename=\""
					+ quote(filename) + "\"\r\nContent-Type: image/tiff\r\n\r\n");
			out.write(data);
			write("\r\n");
		}

		byte[] finish() throws IOException {
			write("--" + boundary + "--\r\n");
			return out.toByteArray();
		}

		private void write(String s) throws IOException {
			out.write(s.getBytes(UTF8));
		}

		private static String quote(String s) throws IOException {
			return URLEncoder.encode(s, "UTF-8").replace("+", " ");
		}
	}

	/** Just enough JSON: objects (ordered), arrays, strings, numbers (Double), booleans, null. */
	static final class Json {
		private final String s;
		private int i;

		private Json(String s) {
			this.s = s;
		}

		static Object parse(String text) {
			Json p = new Json(text);
			p.ws();
			Object v = p.value();
			p.ws();
			if (p.i != p.s.length())
				throw new IllegalArgumentException("trailing characters in JSON at " + p.i);
			return v;
		}

		private void ws() {
			while (i < s.length() && Character.isWhitespace(s.charAt(i)))
				i++;
		}

		private Object value() {
			if (i >= s.length())
				throw new IllegalArgumentException("unexpected end of JSON");
			char c = s.charAt(i);
			if (c == '{')
				return object();
			if (c == '[')
				return array();
			if (c == '"')
				return string();
			if (s.startsWith("true", i)) {
				i += 4;
				return Boolean.TRUE;
			}
			if (s.startsWith("false", i)) {
				i += 5;
				return Boolean.FALSE;
			}
			if (s.startsWith("null", i)) {
				i += 4;
				return null;
			}
			int start = i;
			while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0)
				i++;
			if (start == i)
				throw new IllegalArgumentException("bad JSON value at " + start);
			return Double.valueOf(s.substring(start, i));
		}

		private Map<String, Object> object() {
			Map<String, Object> m = new LinkedHashMap<String, Object>();
			i++;
			ws();
			if (s.charAt(i) == '}') {
				i++;
				return m;
			}
			while (true) {
				ws();
				String key = string();
				ws();
				expect(':');
				ws();
				m.put(key, value());
				ws();
				if (s.charAt(i) == ',') {
					i++;
					continue;
				}
				expect('}');
				return m;
			}
		}

		private List<Object> array() {
			List<Object> list = new ArrayList<Object>();
			i++;
			ws();
			if (s.charAt(i) == ']') {
				i++;
				return list;
			}
			while (true) {
				ws();
				list.add(value());
				ws();
				if (s.charAt(i) == ',') {
					i++;
					continue;
				}
				expect(']');
				return list;
			}
		}

		private String string() {
			expect('"');
			StringBuilder sb = new StringBuilder();
			while (true) {
				char c = s.charAt(i++);
				if (c == '"')
					return sb.toString();
				if (c != '\\') {
					sb.append(c);
					continue;
				}
				char e = s.charAt(i++);
				switch (e) {
				case 'n': sb.append('\n'); break;
				case 't': sb.append('\t'); break;
				case 'r': sb.append('\r'); break;
				case 'b': sb.append('\b'); break;
				case 'f': sb.append('\f'); break;
				case 'u':
					sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
					i += 4;
					break;
				default: sb.append(e);
				}
			}
		}

		private void expect(char c) {
			if (i >= s.length() || s.charAt(i) != c)
				throw new IllegalArgumentException("expected '" + c + "' in JSON at " + i);
			i++;
		}
	}

	@Override
	public String toString() {
		return "HttpTransport(" + url + ")";
	}
}
