package org.pgstrata.storage;

import java.io.IOException;

/**
 * A repository's store failed to deliver an object it holds: the read was cut again and again,
 * or its rest could not be asked for. An I/O error that says nothing about the object itself,
 * nor about the place a command writes to.
 */
public class StoreReadException extends IOException {
    public StoreReadException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Whether {@code e}, or one of its causes, is a store's failure to deliver. */
    public static boolean isIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof StoreReadException) {
                return true;
            }
        }
        return false;
    }
}
