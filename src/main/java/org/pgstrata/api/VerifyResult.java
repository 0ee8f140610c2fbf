package org.pgstrata.api;

import java.util.List;

/** What verify found: objects checked, and every problem with the object it concerns. */
public record VerifyResult(int backups, long objects, long bytes, List<String> problems, List<String> incomplete) {
    public boolean ok() {
        return problems.isEmpty();
    }
}
