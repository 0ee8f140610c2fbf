package org.pgstrata.manifest;

import java.io.IOException;

/** An object failed its checksum or size check, or is missing. */
public class CorruptObjectException extends IOException {
    private final String key;

    public CorruptObjectException(String key, String problem) {
        super("object " + key + " " + problem);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
