package org.pgstrata.storage;

import java.io.IOException;

/** An object failed its checksum or size check, or is missing. */
public class CorruptObjectException extends IOException {
    private final String key;

    public CorruptObjectException(String key, String problem) {
        this(key, "object " + key + " " + problem, true);
    }

    /** With the whole message, for a problem that is not one object's alone. */
    protected CorruptObjectException(String key, String message, boolean whole) {
        super(message);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
