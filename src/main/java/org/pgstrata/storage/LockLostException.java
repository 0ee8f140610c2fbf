package org.pgstrata.storage;

import java.io.IOException;

/** A held repository lock can no longer be trusted: it was taken over or removed, or not renewed in time. */
public class LockLostException extends IOException {
    public LockLostException(String why) {
        super(why);
    }
}
