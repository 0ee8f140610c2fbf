package org.pgstrata.storage.s3;

import java.io.IOException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** Turns the SDK's exceptions into one-line IOExceptions that say what to do. */
final class S3Errors {
    private S3Errors() {
    }

    /** A short description of a failure: the HTTP status and S3's error code, or the client's cause. */
    static String brief(Throwable t) {
        if (t instanceof S3Exception s3) {
            String code = s3.awsErrorDetails() != null ? s3.awsErrorDetails().errorCode() : null;
            return "HTTP " + s3.statusCode() + (code != null ? " " + code : "");
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        if (m != null && m.startsWith("Unable to load credentials")) {
            // The SDK goes on to list every provider of its chain and why each found nothing (about 1,500 characters); the hint says where to put them.
            return root.getClass().getSimpleName() + ": unable to load credentials from any provider";
        }
        return root.getClass().getSimpleName() + (m != null ? ": " + shortened(firstLine(m)) : "");
    }

    /** A message of at most {@link #MESSAGE_CHARS} characters: an error stays a line a person reads. */
    static String shortened(String m) {
        return m.length() <= MESSAGE_CHARS ? m : m.substring(0, MESSAGE_CHARS) + "...";
    }

    private static final int MESSAGE_CHARS = 300;

    static IOException io(String what, S3Location where, SdkException e) {
        String hint = hint(e, where);
        return new IOException(what + " failed: " + brief(e) + attempts(e) + (hint != null ? "; " + hint : ""), e);
    }

    /**
     * How often the request was made, when more than once: the retries are said with -v only, and
     * without this the line read as one refusal after up to a minute of silent backoff.
     */
    private static String attempts(SdkException e) {
        Integer n = e.numAttempts();
        return n != null && n > 1 ? " (after " + n + " attempts)" : "";
    }

    /** {@link #io} for a read of an object the store holds: its failure to deliver, no verdict on the object. */
    static org.pgstrata.storage.StoreReadException readFailed(String what, S3Location where, SdkException e) {
        IOException io = io(what, where, e);
        return new org.pgstrata.storage.StoreReadException(io.getMessage(), e);
    }

    private static String hint(SdkException e, S3Location where) {
        if (e instanceof S3Exception s3) {
            String code = s3.awsErrorDetails() != null ? s3.awsErrorDetails().errorCode() : "";
            if ("NoSuchBucket".equals(code)) {
                return "the bucket '" + where.bucket() + "' does not exist: create it, or run 'pgstrata repo init', which does";
            }
            if (s3.statusCode() == 403) {
                return "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket's policy";
            }
            if (s3.statusCode() == 301 || "PermanentRedirect".equals(code) || "AuthorizationHeaderMalformed".equals(code)) {
                return "the bucket is in another region: pass --s3-region";
            }
            return null;
        }
        if (e instanceof SdkClientException && String.valueOf(e.getMessage()).contains("Unable to load credentials")) {
            return "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials";
        }
        if (e instanceof SdkClientException) {
            return "check that the S3 endpoint is reachable" + (where.endpoint() != null ? " at " + where.endpoint() : "");
        }
        return null;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
