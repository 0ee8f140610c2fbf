package org.pgstrata.manifest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.crypt.KeyEnvelope;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;

/**
 * The system identifier from repo.json, read without a JSON library: archive_command starts a
 * process per segment, and the push path must stay lean. The envelope's checksum is checked as
 * for every other read.
 */
public final class RepoIdentity {
    private static final Pattern SYSID = Pattern.compile("\"systemIdentifier\"\\s*:\\s*\"(\\d+)\"");

    private RepoIdentity() {
    }

    /** The system identifier, or null when the location holds no repository. */
    public static String systemIdentifier(Storage storage) throws IOException {
        String body = body(storage);
        return body == null ? null : systemIdentifierIn(body);
    }

    private static String body(Storage storage) throws IOException {
        byte[] bytes;
        try {
            bytes = storage.getBytes(Repository.INFO_KEY);
        } catch (ObjectNotFoundException e) {
            return null;
        }
        return new String(Envelope.open(Repository.INFO_KEY, bytes), StandardCharsets.UTF_8);
    }

    private static String systemIdentifierIn(String body) throws CorruptObjectException {
        Matcher m = SYSID.matcher(body);
        if (!m.find()) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has no systemIdentifier");
        }
        return m.group(1);
    }

    private static final Pattern FORMAT = Pattern.compile("\"formatVersion\"\\s*:\\s*(\\d+)");

    /** What {@link Repository#info()} refuses, refused here too: a newer format, or a format that disagrees with the wrapped key's presence. */
    private static void checkFormat(Storage storage, String body, KeyEnvelope envelope) throws CorruptObjectException {
        Matcher m = FORMAT.matcher(body);
        if (!m.find()) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has no formatVersion");
        }
        long format;
        try {
            format = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has a malformed formatVersion");
        }
        if (format > RepoInfo.ENCRYPTED_FORMAT_VERSION) {
            throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.REPO_MISMATCH, "repository " + storage.describe()
                    + " has format " + format + ", written by a newer pgstrata than this one (format " + RepoInfo.ENCRYPTED_FORMAT_VERSION + ")",
                    "use the pgstrata that wrote it, or a newer one");
        }
        if (format >= RepoInfo.ENCRYPTED_FORMAT_VERSION != (envelope != null)) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has format " + format + (envelope != null ? " and" : " but no") + " wrapped key");
        }
    }

    private static final Pattern ENCRYPTION = Pattern.compile("\"encryption\"\\s*:\\s*\\{([^}]*)}");

    /**
     * The wrapped key in repo.json's body, or null for a repository in the clear; read without a
     * JSON library, as the identity is. The envelope's CRC was checked, and every field but the
     * sealed key is the sealed key's associated data: one changed afterwards fails the unwrap.
     */
    private static KeyEnvelope envelopeIn(String body) throws CorruptObjectException {
        Matcher m = ENCRYPTION.matcher(body);
        if (!m.find()) {
            return null;
        }
        String fields = m.group(1);
        try {
            return new KeyEnvelope(field(fields, "kdf"), Integer.parseInt(field(fields, "memoryKiB")), Integer.parseInt(field(fields, "iterations")),
                    field(fields, "salt"), field(fields, "nonce"), field(fields, "wrapped"));
        } catch (NumberFormatException e) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has a malformed wrapped key");
        }
    }

    private static String field(String fields, String name) throws CorruptObjectException {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"?([A-Za-z0-9+/=]+)\"?").matcher(fields);
        if (!m.find()) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has a wrapped key without " + name);
        }
        return m.group(1);
    }

    /** A repository's store, through its key when it is encrypted, and the cluster it serves (null: no repository there). */
    public record Opened(Storage storage, String systemIdentifier) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            storage.close();
        }
    }

    /**
     * Opens {@code location} for the WAL commands, which need no {@link Repository}: repo.json is
     * read once, and an encrypted repository's key unwrapped with the command's passphrase (JSON
     * parsed only then). The caller closes the store.
     */
    public static Opened open(String location) throws IOException {
        Storage storage = org.pgstrata.storage.StorageFactory.open(location);
        try {
            String body = body(storage);
            if (body == null) {
                return new Opened(storage, null);
            }
            String sysid = systemIdentifierIn(body);
            KeyEnvelope envelope = envelopeIn(body);
            checkFormat(storage, body, envelope);
            if (envelope == null) {
                Repository.refuseClearInfoOverEncryptedObjects(storage);
            }
            return new Opened(envelope == null ? storage : Repository.unlock(storage, envelope), sysid);
        } catch (IOException | RuntimeException e) {
            storage.close();
            throw e;
        }
    }
}
