package org.pgstrata.storage;

import java.io.IOException;

/**
 * The store overwrote an object that a conditional write (create only if absent) should have
 * left alone: it cannot keep one WAL file per name, nor a lease that two writers cannot both hold.
 */
public class NoConditionalWritesException extends IOException {
    public NoConditionalWritesException(String where) {
        super(where + " replaced an existing object on a write that was to create it only if absent (If-None-Match: *): "
                + "the store does not support conditional writes");
    }
}
