package org.pgstrata.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;

/**
 * Repository metadata files are JSON wrapped in a checksum envelope ({@link Envelope}):
 * {@code {"crc32c":"<hex of body bytes>","body":<body>}}. The body's exact bytes are checked,
 * so a torn or edited file is detected before anything in it is believed.
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(SerializationFeature.INDENT_OUTPUT, false);

    private Json() {
    }

    public static byte[] seal(Object value) throws IOException {
        return Envelope.seal(MAPPER.writeValueAsBytes(value));
    }

    /** Checks the envelope and returns the body; throws {@link CorruptObjectException} if it does not match. */
    public static <T> T unseal(String key, byte[] bytes, Class<T> type) throws IOException {
        int end = Envelope.bodyEnd(key, bytes);
        return MAPPER.readValue(bytes, Envelope.bodyStart(), end - Envelope.bodyStart(), type);
    }
}
