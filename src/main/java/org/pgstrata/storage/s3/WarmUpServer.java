package org.pgstrata.storage.s3;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A stand-in for an S3 server on 127.0.0.1, for {@link S3Storage#warmUp()} only: it answers every
 * request with a canned success (or a 404 for a key named "missing"), so that the launcher's class
 * data sharing archive records what real requests load (each operation's request and response
 * classes, their many field lambdas, the XML parser) and not only what a refused one does. It
 * keeps nothing and checks nothing.
 */
final class WarmUpServer implements AutoCloseable {
    private static final String ETAG = "\"0123456789abcdef0123456789abcdef\"";
    private final ServerSocket listener;

    WarmUpServer() throws IOException {
        listener = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::serve, "pgstrata-warmup-s3");
        t.setDaemon(true);
        t.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + listener.getLocalPort();
    }

    private void serve() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                Thread t = new Thread(() -> connection(s), "pgstrata-warmup-s3");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void connection(Socket s) {
        try (s; InputStream in = new BufferedInputStream(s.getInputStream()); OutputStream out = s.getOutputStream()) {
            while (true) {
                String head = head(in);
                if (head == null) {
                    return;
                }
                String[] requestLine = head.substring(0, head.indexOf('\r')).split(" ");
                long length = 0;
                for (String line : head.split("\r\n")) {
                    if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
                in.skipNBytes(length);
                out.write(answer(requestLine[0], requestLine[1]));
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            // the client went away
        }
    }

    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int last4 = 0;
        while (last4 != 0x0d0a0d0a) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            last4 = (last4 << 8) | c;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static byte[] answer(String method, String target) {
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        String query = target.contains("?") ? target.substring(target.indexOf('?') + 1) : "";
        if (path.endsWith("missing")) {
            return response("404 Not Found", method.equals("HEAD") ? "" : error("NoSuchKey"), "");
        }
        String date = "Last-Modified: Wed, 02 Dec 2026 12:00:00 GMT\r\n";
        return switch (method) {
            case "HEAD" -> response("200 OK", "", "ETag: " + ETAG + "\r\n" + date, 3);
            case "GET" -> query.contains("list-type=2") ? response("200 OK", xml("ListBucketResult", "<Name>warmup</Name><Prefix>x/</Prefix>"
                    + "<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>x/a</Key>"
                    + "<LastModified>2026-12-02T12:00:00.000Z</LastModified><ETag>" + ETAG + "</ETag><Size>3</Size>"
                    + "<StorageClass>STANDARD</StorageClass></Contents>"), "")
                : query.contains("uploads") ? response("200 OK", xml("ListMultipartUploadsResult", "<Bucket>warmup</Bucket>"
                    + "<IsTruncated>false</IsTruncated><Upload><Key>x/b</Key><UploadId>u1</UploadId>"
                    + "<Initiated>2026-12-02T12:00:00.000Z</Initiated></Upload>"), "")
                : response("200 OK", "abc", "ETag: " + ETAG + "\r\n" + date);
            case "PUT" -> response("200 OK", "", "ETag: " + ETAG + "\r\n");
            case "POST" -> query.contains("delete") ? response("200 OK", xml("DeleteResult", ""), "")
                : query.contains("uploadId") ? response("200 OK", xml("CompleteMultipartUploadResult", "<Bucket>warmup</Bucket>"
                    + "<Key>x/b</Key><ETag>" + ETAG + "</ETag>"), "")
                : response("200 OK", xml("InitiateMultipartUploadResult", "<Bucket>warmup</Bucket><Key>x/b</Key><UploadId>u1</UploadId>"), "");
            case "DELETE" -> response("204 No Content", "", "");
            default -> response("501 Not Implemented", error("NotImplemented"), "");
        };
    }

    private static String xml(String root, String body) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><" + root + " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + body
                + "</" + root + ">";
    }

    private static String error(String code) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>warm-up</Message></Error>";
    }

    private static byte[] response(String status, String body, String headers) {
        return response(status, body, headers, body.length());
    }

    /** A HEAD answer names the length of a body it does not send. */
    private static byte[] response(String status, String body, String headers, long length) {
        return ("HTTP/1.1 " + status + "\r\nDate: Wed, 02 Dec 2026 12:00:00 GMT\r\n" + headers + "Content-Length: " + length
                + "\r\nContent-Type: application/xml\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
