package org.pgstrata.storage.s3;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP relay on 127.0.0.1 in front of an S3 server that changes one byte in the body of the
 * first PUT it carries whose body is at least {@code minBody} bytes long, as a faulty network,
 * NIC or proxy would: the request (and its signature) arrives as it was sent, the body does not.
 * Everything else passes unchanged, in both directions.
 */
public final class CorruptingRelay implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final long minBody;
    private final AtomicReference<String> changed = new AtomicReference<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    private CorruptingRelay(int targetPort, long minBody) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.targetPort = targetPort;
        this.minBody = minBody;
        daemon("relay-accept", this::acceptLoop);
    }

    /** A relay to the server at {@code endpoint} (http://127.0.0.1:PORT). */
    public static CorruptingRelay to(String endpoint, long minBody) throws IOException {
        return new CorruptingRelay(URI.create(endpoint).getPort(), minBody);
    }

    public String endpoint() {
        return "http://127.0.0.1:" + listener.getLocalPort();
    }

    /** The request line (method and path) of the PUT whose body was changed, or null while none was. */
    public String changed() {
        return changed.get();
    }

    private static void daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                sockets.add(client);
                sockets.add(server);
                daemon("relay-up", () -> requests(client, server));
                daemon("relay-down", () -> copy(server, client));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /** Client to server: request after request, each header as it is and its body counted by Content-Length. */
    private void requests(Socket from, Socket to) {
        try (InputStream in = new BufferedInputStream(from.getInputStream());
             OutputStream out = new BufferedOutputStream(to.getOutputStream())) {
            while (true) {
                byte[] head = header(in);
                if (head == null) {
                    return;
                }
                out.write(head);
                out.flush(); // a client that sent Expect: 100-continue waits for the answer before its body
                String text = new String(head, StandardCharsets.ISO_8859_1);
                String requestLine = text.substring(0, text.indexOf("\r\n"));
                long length = 0;
                for (String line : text.split("\r\n")) {
                    if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
                long flipAt = requestLine.startsWith("PUT ") && length >= minBody
                        && changed.compareAndSet(null, requestLine.substring(0, requestLine.lastIndexOf(' '))) ? length / 2 : -1;
                for (long i = 0; i < length; i++) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    out.write(i == flipAt ? b ^ 0x20 : b);
                }
                out.flush();
            }
        } catch (IOException e) {
            // a side closed its connection
        } finally {
            closeQuietly(to);
        }
    }

    /** A request's header up to and with its empty line, or null at the end of the stream. */
    private static byte[] header(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toByteArray();
    }

    private static void copy(Socket from, Socket to) {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException e) {
            // a side closed its connection
        } finally {
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        sockets.forEach(CorruptingRelay::closeQuietly);
    }
}
