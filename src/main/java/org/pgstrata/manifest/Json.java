package org.pgstrata.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import org.pgstrata.storage.CorruptObjectException;

/**
 * Repository metadata files are JSON wrapped in a checksum envelope ({@link Envelope}):
 * {@code {"crc32c":"<hex of body bytes>","body":<body>}}. The body's exact bytes are checked,
 * so a torn or edited file is detected before anything in it is believed.
 */
public final class Json {
    /**
     * Jackson refuses strings over 20,000,000 characters by default; a block bitmap of a file of
     * more than about 915 GiB (a large --with-segsize) is longer, and a manifest written with one
     * must read back.
     */
    public static final ObjectMapper MAPPER = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
            .build())
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(SerializationFeature.INDENT_OUTPUT, false)
            .registerModule(new com.fasterxml.jackson.databind.module.SimpleModule("pgstrata")
                    .addDeserializer(BlockList.class, new BlockList.Deserializer()));

    private Json() {
    }

    /**
     * The value's JSON in its envelope. Written twice, once to measure its length and checksum
     * and once into the sealed bytes, so that a manifest's text (28 MB for 100,000 files) is held
     * once instead of three times (the writer's buffer, its copy, the envelope).
     */
    public static byte[] seal(Object value) throws IOException {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        long[] length = {0};
        MAPPER.writeValue(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                crc.update(b);
                length[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                crc.update(b, off, len);
                length[0] += len;
            }
        }, value);
        if (length[0] > Integer.MAX_VALUE - 64) {
            throw new IOException("the JSON of " + value.getClass().getSimpleName() + " is too large (" + length[0] + " bytes)");
        }
        return Envelope.seal((int) length[0], crc.getValue(), out -> MAPPER.writeValue(out, value));
    }

    /** Checks the envelope and returns the body; throws {@link CorruptObjectException} if it does not match. */
    public static <T> T unseal(String key, byte[] bytes, Class<T> type) throws IOException {
        int end = Envelope.bodyEnd(key, bytes);
        return MAPPER.readValue(bytes, Envelope.bodyStart(), end - Envelope.bodyStart(), type);
    }

    /** {@link #unseal}, reading the body with the deserialization attribute {@code attribute} set. */
    static <T> T unseal(String key, byte[] bytes, Class<T> type, Object attribute, Object value) throws IOException {
        int end = Envelope.bodyEnd(key, bytes);
        return MAPPER.readerFor(type).withAttribute(attribute, value).readValue(bytes, Envelope.bodyStart(), end - Envelope.bodyStart());
    }
}
