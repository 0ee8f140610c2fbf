package org.pgstrata.api;

import java.nio.file.Path;

/** A finished restore: what was restored where, how long the files took and, with --start, until ready. */
public record RestoreResult(String backupId, Path target, long files, long bytes, double filesSeconds,
                            Double readySeconds, Integer port) {
}
