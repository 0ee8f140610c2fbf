package org.pgstrata.manifest;

/**
 * Where some bytes live in the repository: the object's key, how it is compressed, and the size
 * and SHA-256 of the stored (compressed) bytes, which every read checks.
 *
 * @param backup the backup that wrote the object (objects are never shared across repositories)
 */
public record ObjectRef(String backup, String key, String compression, long storedBytes, String storedSha256) {
}
