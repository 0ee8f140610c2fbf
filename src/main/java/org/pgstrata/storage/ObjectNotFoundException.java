package org.pgstrata.storage;

import java.io.IOException;

/** The storage has no object under the key that was asked for. */
public class ObjectNotFoundException extends IOException {
    private final String key;

    public ObjectNotFoundException(String key, String where) {
        super("object '" + key + "' does not exist in " + where);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
