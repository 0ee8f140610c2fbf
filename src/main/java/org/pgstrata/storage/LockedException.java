package org.pgstrata.storage;

import java.io.IOException;

/** Another writer holds the repository lock. */
public class LockedException extends IOException {
    private final String holder;

    public LockedException(String where, String holder) {
        super("repository " + where + " is locked by " + holder);
        this.holder = holder;
    }

    public String holder() {
        return holder;
    }
}
