package org.pgstrata.manifest;

/** A WAL segment or timeline history file stored with a backup so that the backup restores on its own. */
public record WalEntry(String name, long size, String checksum, ObjectRef object) {
}
