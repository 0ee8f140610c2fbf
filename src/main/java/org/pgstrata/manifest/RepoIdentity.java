package org.pgstrata.manifest;

import org.pgstrata.storage.CorruptObjectException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
        byte[] bytes;
        try {
            bytes = storage.getBytes(Repository.INFO_KEY);
        } catch (ObjectNotFoundException e) {
            return null;
        }
        String body = new String(Envelope.open(Repository.INFO_KEY, bytes), StandardCharsets.UTF_8);
        Matcher m = SYSID.matcher(body);
        if (!m.find()) {
            throw new CorruptObjectException(Repository.INFO_KEY, "has no systemIdentifier");
        }
        return m.group(1);
    }
}
