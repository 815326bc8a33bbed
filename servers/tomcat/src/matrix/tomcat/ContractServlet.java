package matrix.tomcat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * ContractServlet serves the matrix's contract (servers/README.md): its
 * init parameter "endpoint" (hello, json or upload, set in web.xml) picks
 * the endpoint of each of its three declarations.
 */
public final class ContractServlet extends HttpServlet {
	private static final long serialVersionUID = 1L;

	/** Endpoint is what one mapping of the servlet serves. */
	public enum Endpoint { HELLO, JSON, UPLOAD }

	// The bodies are constant bytes, as nginx and h2o serve them: no JSON
	// library is on Debian's Tomcat classpath, and a servlet that
	// serialised one constant object would measure the library.
	private static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
	private static final byte[] JSON = "{\"message\":\"Hello, World!\"}".getBytes(StandardCharsets.US_ASCII);

	private Endpoint endpoint;

	@Override
	public void init() throws ServletException {
		String e = getInitParameter("endpoint");
		try {
			endpoint = Endpoint.valueOf(e == null ? "" : e.toUpperCase(java.util.Locale.ROOT));
		} catch (IllegalArgumentException x) {
			throw new ServletException("web.xml: servlet " + getServletName() + ": endpoint " + e + " is not hello, json or upload", x);
		}
	}

	@Override
	protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
		switch (endpoint) {
		case HELLO:
			write(resp, "text/plain", HELLO);
			break;
		case JSON:
			write(resp, "application/json", JSON);
			break;
		default:
			resp.sendError(HttpServletResponse.SC_METHOD_NOT_ALLOWED);
		}
	}

	@Override
	protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
		if (endpoint != Endpoint.UPLOAD) {
			resp.sendError(HttpServletResponse.SC_METHOD_NOT_ALLOWED);
			return;
		}
		// Read the whole body, counting it: the count is what arrived, not
		// what Content-Length announced. 16 KiB is one HTTP/2 DATA frame
		// at the default SETTINGS_MAX_FRAME_SIZE (RFC 9113 6.5.2).
		long n = 0;
		byte[] buf = new byte[16384];
		try (InputStream in = req.getInputStream()) {
			for (int r; (r = in.read(buf)) != -1;) {
				n += r;
			}
		}
		write(resp, "text/plain", Long.toString(n).getBytes(StandardCharsets.US_ASCII));
	}

	private static void write(HttpServletResponse resp, String type, byte[] body) throws IOException {
		resp.setContentType(type);
		resp.setContentLength(body.length);
		resp.getOutputStream().write(body);
	}
}
