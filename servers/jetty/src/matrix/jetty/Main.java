package matrix.jetty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.util.Jetty;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Main runs embedded Jetty for the matrix: HTTP/1.1 and h2c (prior
 * knowledge) on $PORT, or, with $TLS_CERT and $TLS_KEY, TLS on $PORT
 * offering h2 and http/1.1 by ALPN. "-version" prints "jetty VERSION".
 */
public final class Main {
	private Main() {}

	public static void main(String[] args) throws Exception {
		if (args.length > 0 && (args[0].equals("-version") || args[0].equals("--version"))) {
			System.out.println("jetty " + Jetty.VERSION);
			return;
		}
		String port = System.getenv("PORT");
		if (port == null || port.isEmpty()) {
			System.err.println("jetty: PORT is not set");
			System.exit(2);
		}
		String host = System.getenv("HOST");
		String cert = System.getenv("TLS_CERT");
		String key = System.getenv("TLS_KEY");

		// Jetty's own defaults, written out: at most 200 threads, 8 kept.
		// Threads are taken only by requests in progress (the selector
		// parks idle connections), so the 1024-connection row does not
		// need 1024 threads; a blocking /upload read holds one thread per
		// request, and 200 is well over the rows' concurrency.
		QueuedThreadPool pool = new QueuedThreadPool(200, 8);
		pool.setName("jetty");
		Server server = new Server(pool);

		HttpConfiguration http = new HttpConfiguration();
		// Like the Go servers, no Server header: it is not part of the
		// contract and only adds bytes.
		http.setSendServerVersion(false);

		ServerConnector connector;
		String protos;
		if (cert != null && !cert.isEmpty()) {
			http.addCustomizer(new SecureRequestCustomizer());
			SslContextFactory.Server ssl = sslContext(cert, key);
			// HTTP/2 first: the client's preference order decides only when
			// the server's does not (RFC 7301 3.2); Jetty picks its first
			// protocol that the client also offers.
			ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1");
			alpn.setDefaultProtocol("http/1.1");
			// -1, -1: Jetty sizes acceptors and selectors from the CPUs (on
			// 2 cores one of each), as a production deployment would.
			connector = new ServerConnector(server, -1, -1,
					new SslConnectionFactory(ssl, alpn.getProtocol()), alpn,
					new HTTP2ServerConnectionFactory(http), new HttpConnectionFactory(http));
			protos = "h1s, h2";
		} else {
			// An HTTP/1.1 connection that starts with the HTTP/2 preface
			// becomes h2c (RFC 9113 3.3, prior knowledge).
			connector = new ServerConnector(server, -1, -1,
					new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
			protos = "h1, h2c";
		}
		connector.setHost(host == null || host.isEmpty() ? null : host);
		connector.setPort(Integer.parseInt(port));
		server.addConnector(connector);

		ServletContextHandler ctx = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
		ctx.setContextPath("/");
		// "" is the exact mapping of the context root (Servlet 3.1, 12.2).
		ctx.addServlet(new ServletHolder(new ContractServlet(ContractServlet.Endpoint.HELLO)), "");
		ctx.addServlet(new ServletHolder(new ContractServlet(ContractServlet.Endpoint.JSON)), "/json");
		ctx.addServlet(new ServletHolder(new ContractServlet(ContractServlet.Endpoint.UPLOAD)), "/upload");
		server.setHandler(ctx);

		// SIGTERM runs the JVM's shutdown hooks; Jetty's stops the server,
		// draining requests in progress for at most 1 s, as the Go servers.
		server.setStopAtShutdown(true);
		server.setStopTimeout(1000);
		server.start();
		System.err.printf("jetty %s (%s) on %s:%s, %d selector(s), at most %d threads%n", Jetty.VERSION, protos,
				host == null ? "*" : host, port, connector.getSelectorManager().getSelectorCount(), pool.getMaxThreads());
		server.join();
	}

	/**
	 * sslContext loads the PEM certificate chain and private key into a
	 * key store held in memory only: the key is never written anywhere.
	 */
	private static SslContextFactory.Server sslContext(String certPath, String keyPath) throws Exception {
		if (keyPath == null || keyPath.isEmpty()) {
			throw new IllegalArgumentException("TLS_CERT is set but TLS_KEY is not");
		}
		Certificate[] chain;
		try (InputStream in = Files.newInputStream(Paths.get(certPath))) {
			chain = CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(new Certificate[0]);
		}
		if (chain.length == 0) {
			throw new IllegalArgumentException("TLS_CERT " + certPath + ": no certificate");
		}
		char[] pw = "matrix".toCharArray(); // guards nothing: the store is in memory only
		KeyStore ks = KeyStore.getInstance("PKCS12");
		ks.load(null, null);
		ks.setKeyEntry("server", privateKey(keyPath), pw, chain);
		SslContextFactory.Server ssl = new SslContextFactory.Server();
		ssl.setKeyStore(ks);
		ssl.setKeyStorePassword(new String(pw));
		// RFC 9113 9.2.2 forbids HTTP/2 over the TLS 1.2 suites that Jetty's
		// default exclusions leave out anyway; this comparator orders the
		// allowed ones first.
		ssl.setCipherComparator(org.eclipse.jetty.http2.HTTP2Cipher.COMPARATOR);
		return ssl;
	}

	/**
	 * privateKey reads a PEM private key. Java reads PKCS #8 ("PRIVATE
	 * KEY") itself; a PKCS #1 or SEC 1 key ("RSA PRIVATE KEY", "EC PRIVATE
	 * KEY") is converted to PKCS #8 by openssl, through a pipe.
	 */
	private static PrivateKey privateKey(String path) throws IOException, GeneralSecurityException, InterruptedException {
		String pem = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.US_ASCII);
		if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
			Process p = new ProcessBuilder("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", path)
					.redirectError(ProcessBuilder.Redirect.INHERIT).start();
			pem = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
			if (p.waitFor() != 0) {
				throw new IOException("TLS_KEY " + path + ": openssl pkcs8 failed");
			}
		}
		int b = pem.indexOf("-----BEGIN PRIVATE KEY-----");
		int e = pem.indexOf("-----END PRIVATE KEY-----");
		if (b < 0 || e < b) {
			throw new IOException("TLS_KEY " + path + ": no PEM private key");
		}
		String b64 = pem.substring(b + "-----BEGIN PRIVATE KEY-----".length(), e).replaceAll("\\s", "");
		PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
		for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
			try {
				return KeyFactory.getInstance(alg).generatePrivate(spec);
			} catch (GeneralSecurityException ignored) {
				// not this algorithm: try the next
			}
		}
		throw new IOException("TLS_KEY " + path + ": not an EC, RSA or Ed25519 key");
	}
}
