package org.pgstrata.manifest;

/**
 * Where some bytes live in the repository: the object's key, how they are compressed, and the size
 * and checksum of the stored (compressed) bytes, which every read checks. Small files share a
 * bundle object: {@code offset} says where their stored bytes start in it (null for an object of
 * its own).
 *
 * @param backup the backup that wrote the object
 */
public record ObjectRef(String backup, String key, String compression, long storedBytes, String storedChecksum, Long offset) {

    /**
     * The backup, the compression and a bundle's key repeat on many entries: shared, as in
     * {@link FileEntry}. The key of an object of its own is unique, and kept as read.
     */
    public ObjectRef {
        backup = backup == null ? null : backup.intern();
        compression = compression == null ? null : compression.intern();
        key = key == null || offset == null ? key : key.intern();
    }

    public ObjectRef(String backup, String key, String compression, long storedBytes, String storedChecksum) {
        this(backup, key, compression, storedBytes, storedChecksum, null);
    }

    public long start() {
        return offset == null ? 0 : offset;
    }
}
