package matrix.jetty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * ContractServlet serves the matrix's contract (servers/README.md): the
 * mapping it is registered under picks the endpoint.
 */
public final class ContractServlet extends HttpServlet {
	private static final long serialVersionUID = 1L;

	/** Endpoint is what one mapping of the servlet serves. */
	public enum Endpoint { HELLO, JSON, UPLOAD }

	// The bodies are constant bytes, as nginx and h2o serve them: no JSON
	// library is on Debian's Jetty classpath, and a servlet that
	// serialised one constant object would measure the library.
	private static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
	private static final byte[] JSON = "{\"message\":\"Hello, World!\"}".getBytes(StandardCharsets.US_ASCII);

	private final Endpoint endpoint;

	/** ContractServlet returns the servlet of one endpoint. */
	public ContractServlet(Endpoint endpoint) {
		this.endpoint = endpoint;
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
