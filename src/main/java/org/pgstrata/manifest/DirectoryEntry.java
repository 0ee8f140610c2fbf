package org.pgstrata.manifest;

/** A directory of the data directory, kept even when empty (pg_wal, pg_replslot ...). */
public record DirectoryEntry(String path, String mode) {
}
